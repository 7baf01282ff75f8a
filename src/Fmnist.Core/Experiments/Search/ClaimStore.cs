using System.Diagnostics;
using System.Text.Json;

namespace Fmnist.Experiments.Search;

/// <summary>What a claim file holds: who took the job, and once it ended, how.</summary>
/// <param name="ProcessStart">The process's start time in clock ticks since boot (/proc/PID/stat), so a
/// recycled process id is not taken for the claimer.</param>
/// <param name="Outcome">Null while the job runs; then "done" (its stage reached), "diverged", "failed" (an error: the job
/// may be taken again), or "already-done" (another worker finished it just before this claim).</param>
internal sealed record ClaimInfo(string Worker, string Host, int Pid, long ProcessStart, DateTimeOffset Claimed,
    string? Outcome = null, DateTimeOffset? Ended = null, string? Message = null);

/// <summary>
/// Claim files of one sweep folder: claims/JOB.GEN.json. A job is taken by creating the next generation's
/// file exclusively (O_CREAT|O_EXCL, which shared file systems such as NFS v3+ honour): of several
/// workers, exactly one succeeds. The holder touches its file every few seconds (a heartbeat). A claim
/// is stale, and its job free for generation GEN+1, when its holder is a dead process on this host, or when
/// its file has not changed for <see cref="StaleAfter"/> as measured by the looking worker's own clock
/// (so clocks of different machines need not agree).
/// </summary>
internal sealed class ClaimStore
{
    private readonly Dictionary<string, (DateTime Mtime, long SeenAt)> _watched = new();

    public ClaimStore(string sweepDir, TimeSpan staleAfter)
    {
        Directory = Path.Combine(sweepDir, "claims");
        StaleAfter = staleAfter;
        System.IO.Directory.CreateDirectory(Directory);
    }

    public string Directory { get; }
    public TimeSpan StaleAfter { get; }

    /// <summary>A short id for this process, recorded in its claims.</summary>
    public static string WorkerId { get; } = $"{Environment.MachineName}-{Environment.ProcessId}-{Guid.NewGuid().ToString("N")[..6]}";

    public sealed record Entry(int Generation, string Path, ClaimInfo? Info, DateTime Mtime);

    /// <summary>Every generation of a job's claims, oldest first; an entry's Info is null while its writer is still writing it.</summary>
    public IReadOnlyList<Entry> Claims(string job) => Read(job + ".*.json").GetValueOrDefault(job) ?? [];

    /// <summary>Every job's claims, from one listing of the folder (a poll of a big search reads it once).</summary>
    public IReadOnlyDictionary<string, IReadOnlyList<Entry>> All() => Read("*.json");

    /// <summary>The outcome of the job's latest claim, when that claim has ended.</summary>
    public string? Outcome(string job) => Claims(job).LastOrDefault()?.Info?.Outcome;

    private Dictionary<string, IReadOnlyList<Entry>> Read(string pattern)
    {
        var entries = new List<(string Job, Entry Entry)>();
        foreach (var path in System.IO.Directory.GetFiles(Directory, pattern))
        {
            var name = Path.GetFileName(path)[..^".json".Length]; // JOB.GEN
            int dot = name.LastIndexOf('.');
            if (dot <= 0 || !int.TryParse(name[(dot + 1)..], out int gen)) continue;
            entries.Add((name[..dot], new Entry(gen, path, TryRead(path), File.GetLastWriteTimeUtc(path))));
        }
        return entries.GroupBy(e => e.Job).ToDictionary(g => g.Key, g => (IReadOnlyList<Entry>)g.Select(e => e.Entry).OrderBy(e => e.Generation).ToList());
    }

    /// <summary>Takes the job when nobody holds it, or when its holder is gone; null when a live worker holds it.</summary>
    public Claim? TryClaim(string job)
    {
        var latest = Claims(job).LastOrDefault();
        if (latest is not null && latest.Info?.Outcome is not "failed" && !IsStale(latest)) return null;
        var path = Path.Combine(Directory, $"{job}.{(latest?.Generation ?? 0) + 1}.json");
        var info = new ClaimInfo(WorkerId, Environment.MachineName, Environment.ProcessId, ProcessStartTicks(Environment.ProcessId) ?? 0, DateTimeOffset.UtcNow);
        try
        {
            using var file = new FileStream(path, FileMode.CreateNew, FileAccess.Write);
            JsonSerializer.Serialize(file, info, JsonFiles.Options);
        }
        catch (IOException) when (File.Exists(path))
        {
            return null; // another worker took this generation first
        }
        return new Claim(this, job, path, info);
    }

    /// <summary>True when the claim's holder is gone (see the class summary); an ended claim is never stale.</summary>
    public bool IsStale(Entry claim)
    {
        if (claim.Info is { Outcome: not null }) return false;
        if (claim.Info is { } i && i.Host == Environment.MachineName && OperatingSystem.IsLinux())
            return ProcessStartTicks(i.Pid) != i.ProcessStart;
        long now = Stopwatch.GetTimestamp();
        if (!_watched.TryGetValue(claim.Path, out var seen) || seen.Mtime != claim.Mtime)
        {
            _watched[claim.Path] = (claim.Mtime, now);
            return false;
        }
        return Stopwatch.GetElapsedTime(seen.SeenAt, now) > StaleAfter;
    }

    /// <summary>Start time of a live process in clock ticks since boot (field 22 of /proc/PID/stat); null when there is none.</summary>
    public static long? ProcessStartTicks(int pid)
    {
        try
        {
            var stat = File.ReadAllText($"/proc/{pid}/stat");
            var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' '); // the name may hold spaces; fields from 3 on follow it
            return long.Parse(fields[19]);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException or IndexOutOfRangeException)
        {
            return null;
        }
    }

    private static ClaimInfo? TryRead(string path)
    {
        try
        {
            return JsonSerializer.Deserialize<ClaimInfo>(File.ReadAllText(path), JsonFiles.Options);
        }
        catch (Exception e) when (e is JsonException or IOException)
        {
            return null; // just created, not written yet (or its writer died between the two)
        }
    }
}

/// <summary>A job held by this process: heartbeats until it ends; <see cref="Lost"/> when a newer generation took the job.</summary>
internal sealed class Claim : IDisposable
{
    private readonly ClaimStore _store;
    private readonly Timer _heartbeat;
    private ClaimInfo _info;
    private volatile bool _lost;
    private bool _ended;

    internal Claim(ClaimStore store, string job, string path, ClaimInfo info)
    {
        (_store, Job, Path, _info) = (store, job, path, info);
        var every = TimeSpan.FromTicks(Math.Max(TimeSpan.FromMilliseconds(200).Ticks, store.StaleAfter.Ticks / 5));
        _heartbeat = new Timer(_ => Beat(), null, every, every);
    }

    public string Job { get; }
    public string Path { get; }
    public bool Lost => _lost;

    private void Beat()
    {
        try
        {
            if (_store.Claims(Job).LastOrDefault()?.Path != Path) _lost = true;
            else File.SetLastWriteTimeUtc(Path, DateTime.UtcNow);
        }
        catch (IOException)
        {
            // a missed beat; the next one may get through
        }
    }

    /// <summary>Records how the job ended (rewrites the claim file atomically), unless it was lost.</summary>
    public void End(string outcome, string? message = null)
    {
        _heartbeat.Dispose();
        _ended = true;
        if (_lost || _store.Claims(Job).LastOrDefault()?.Path != Path) return;
        _info = _info with { Outcome = outcome, Ended = DateTimeOffset.UtcNow, Message = message };
        JsonFiles.Write(Path, _info);
    }

    /// <summary>Without <see cref="End"/> (an unexpected error): the claim stays open, and goes stale once this process is gone.</summary>
    public void Dispose()
    {
        if (!_ended) _heartbeat.Dispose();
    }
}
