using System.Globalization;
using System.Reflection;
using System.Runtime.CompilerServices;
using System.Text;
using System.Xml.Linq;
using Fmnist.Data;

namespace Fmnist.Tests;

/// <summary>
/// Fmnist.Core's public API is what src/Fmnist.Core/PublicAPI.txt lists: every public type and its public and
/// protected members, read by reflection in a sorted text form. A change to the surface fails here with the lines
/// that differ, so it is seen in review; FMNIST_WRITE_API=1 rewrites the file instead. The surface stays at most
/// <see cref="MaxTypes"/> types, each with an XML doc summary (missing member docs already fail the build: CS1591).
/// </summary>
public class PublicApiTests
{
    private const int MaxTypes = 40;
    private static readonly Assembly Core = typeof(DataFiles).Assembly;
    private static string BaselinePath => Path.Combine(TestData.RepoRoot, "src", "Fmnist.Core", "PublicAPI.txt");

    [Fact]
    public void Public_api_matches_the_baseline_file()
    {
        var actual = Render(Core);
        if (Environment.GetEnvironmentVariable("FMNIST_WRITE_API") == "1")
        {
            File.WriteAllText(BaselinePath, actual);
            return;
        }
        var expected = File.Exists(BaselinePath) ? File.ReadAllText(BaselinePath) : "";
        if (expected.ReplaceLineEndings("\n") != actual)
            Assert.Fail($"Fmnist.Core's public API differs from {Path.GetRelativePath(TestData.RepoRoot, BaselinePath)} " +
                        "(- in the file, + in the assembly). If the change is meant, rewrite the file with FMNIST_WRITE_API=1 " +
                        $"and commit it:\n{Diff(expected.ReplaceLineEndings("\n"), actual)}");
    }

    [Fact]
    public void Public_types_are_few_and_documented()
    {
        var types = PublicTypes(Core);
        Assert.True(types.Count <= MaxTypes,
            $"{types.Count} public types, more than {MaxTypes}: make the new ones internal (the CLI, the server and the tests see internals)");
        var xmlPath = Path.ChangeExtension(Core.Location, ".xml");
        Assert.True(File.Exists(xmlPath), $"{xmlPath}: no XML documentation file (GenerateDocumentationFile is off?)");
        var summaries = XDocument.Load(xmlPath).Descendants("member")
            .ToDictionary(m => (string)m.Attribute("name")!, m => m.Element("summary")?.Value.Trim() ?? "");
        var undocumented = types.Where(t => string.IsNullOrEmpty(summaries.GetValueOrDefault("T:" + t.FullName!.Replace('+', '.')))).ToList();
        Assert.True(undocumented.Count == 0, $"public types without a <summary>: {string.Join(", ", undocumented.Select(t => t.FullName))}");
    }

    /// <summary>Exported types: public top-level ones and public types nested in them.</summary>
    private static List<Type> PublicTypes(Assembly assembly) =>
        assembly.GetExportedTypes().OrderBy(t => t.FullName, StringComparer.Ordinal).ToList();

    /// <summary>One line per type ("kind Namespace.Name : bases"), then its members indented: constants and fields,
    /// constructors, properties, methods, operators, events, each group sorted by name. A record's compiler-made
    /// members (equality, ToString, Deconstruct) are left out: its constructor and properties say its shape.</summary>
    internal static string Render(Assembly assembly)
    {
        var text = new StringBuilder();
        text.Append("# Fmnist.Core's public API, as PublicApiTests reads it by reflection. Do not edit by hand: run the test\n")
            .Append("# with FMNIST_WRITE_API=1 to rewrite it, and review the change. Everything not listed here is internal.\n");
        var types = PublicTypes(assembly);
        text.Append($"# {types.Count} public types\n");
        foreach (var type in types)
        {
            text.Append('\n').Append(TypeLine(type)).Append('\n');
            foreach (var (_, _, line) in Members(type).OrderBy(m => m.Group).ThenBy(m => m.Name, StringComparer.Ordinal).ThenBy(m => m.Line, StringComparer.Ordinal))
                text.Append("    ").Append(line).Append('\n');
        }
        return text.ToString();
    }

    private static bool IsRecord(Type t) => t.GetMethod("<Clone>$") is not null
                                            || (t.IsValueType && t.GetMethod("PrintMembers", BindingFlags.NonPublic | BindingFlags.Instance) is not null);

    private static string TypeLine(Type t)
    {
        string kind = t.IsEnum ? "enum"
            : t.IsInterface ? "interface"
            : typeof(Delegate).IsAssignableFrom(t.BaseType) ? "delegate"
            : t.IsValueType ? (IsRecord(t) ? "record struct" : "struct")
            : t.IsAbstract && t.IsSealed ? "static class"
            : (t.IsSealed ? "sealed " : t.IsAbstract ? "abstract " : "") + (IsRecord(t) ? "record" : "class");
        var bases = new List<string>();
        if (t.BaseType is { } b && b != typeof(object) && b != typeof(ValueType) && b != typeof(Enum) && !t.IsInterface) bases.Add(Name(b));
        if (t.IsEnum && Enum.GetUnderlyingType(t) != typeof(int)) bases.Add(Name(Enum.GetUnderlyingType(t)));
        // Interfaces a base type already brings are left out; the ones the type declares are listed.
        var inherited = t.BaseType?.GetInterfaces() ?? [];
        bases.AddRange(t.GetInterfaces().Where(i => !inherited.Contains(i)).Select(i => Name(i)).Order(StringComparer.Ordinal));
        return $"{kind} {t.FullName!.Replace('+', '.')}{(bases.Count > 0 ? " : " + string.Join(", ", bases) : "")}";
    }

    private static IEnumerable<(int Group, string Name, string Line)> Members(Type t)
    {
        const BindingFlags all = BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Instance | BindingFlags.Static | BindingFlags.DeclaredOnly;
        static bool Visible(MethodBase? m) => m is not null && (m.IsPublic || m.IsFamily || m.IsFamilyOrAssembly);
        static string Access(MethodBase m) => m.IsPublic ? "" : "protected ";
        if (t.IsEnum)
        {
            foreach (var f in t.GetFields(BindingFlags.Public | BindingFlags.Static))
            {
                long value = Convert.ToInt64(f.GetRawConstantValue(), CultureInfo.InvariantCulture);
                yield return (0, value.ToString("D20", CultureInfo.InvariantCulture), $"{f.Name} = {value}"); // in value order
            }
            yield break;
        }
        var nullability = new NullabilityInfoContext();
        foreach (var c in t.GetConstructors(all).Where(Visible))
            yield return (1, "", $"{Access(c)}{(c.IsStatic ? "static " : "")}ctor({Parameters(c, nullability)})");
        bool record = IsRecord(t);
        foreach (var m in t.GetMethods(all).Where(m => Visible(m) && !m.Name.Contains('<')))
        {
            if (m.IsSpecialName && !m.Name.StartsWith("op_", StringComparison.Ordinal)) continue; // property and event accessors
            if (record && m.IsDefined(typeof(CompilerGeneratedAttribute))) continue;
            var modifiers = (m.IsStatic ? "static " : "") + (m.IsAbstract && !t.IsInterface ? "abstract " : "")
                            + (m.IsVirtual && !m.IsAbstract && !m.IsFinal && m.GetBaseDefinition() == m && !t.IsInterface ? "virtual " : "")
                            + (m.GetBaseDefinition() != m ? "override " : "");
            var generic = m.IsGenericMethodDefinition ? $"<{string.Join(", ", m.GetGenericArguments().Select(a => a.Name))}>" : "";
            var returns = TypeName(m.ReturnType, nullability.Create(m.ReturnParameter), m.ReturnParameter);
            yield return (m.IsSpecialName ? 4 : 3, m.Name, $"{Access(m)}{modifiers}{returns} {m.Name}{generic}({Parameters(m, nullability)})");
        }
        foreach (var p in t.GetProperties(all))
        {
            var get = p.GetMethod is { } g && Visible(g) ? g : null;
            var set = p.SetMethod is { } s && Visible(s) ? s : null;
            if (get is null && set is null) continue;
            var any = (get ?? set)!;
            bool init = set is not null && set.ReturnParameter.GetRequiredCustomModifiers().Contains(typeof(IsExternalInit));
            var accessors = (get is not null ? "get; " : "") + (set is not null ? (init ? "init; " : "set; ") : "");
            var index = p.GetIndexParameters() is { Length: > 0 } ip ? $"[{string.Join(", ", ip.Select(x => $"{TypeName(x.ParameterType, nullability.Create(x))} {x.Name}"))}]" : "";
            yield return (2, p.Name, $"{Access(any)}{(any.IsStatic ? "static " : "")}{TypeName(p.PropertyType, nullability.Create(p))} {(index.Length > 0 ? "this" + index : p.Name)} {{ {accessors}}}");
        }
        foreach (var f in t.GetFields(all).Where(f => (f.IsPublic || f.IsFamily || f.IsFamilyOrAssembly) && !f.Name.Contains('<')))
        {
            var access = f.IsPublic ? "" : "protected ";
            var type = TypeName(f.FieldType, nullability.Create(f));
            yield return (0, f.Name, f.IsLiteral ? $"{access}const {type} {f.Name} = {Literal(f.GetRawConstantValue(), f.FieldType)}"
                : $"{access}{(f.IsStatic ? "static " : "")}{(f.IsInitOnly ? "readonly " : "")}{type} {f.Name}");
        }
        foreach (var e in t.GetEvents(all).Where(e => Visible(e.AddMethod)))
            yield return (5, e.Name, $"{Access(e.AddMethod!)}event {Name(e.EventHandlerType!)} {e.Name}");
    }

    private static string Parameters(MethodBase m, NullabilityInfoContext nullability) =>
        string.Join(", ", m.GetParameters().Select(p =>
        {
            var type = p.ParameterType.IsByRef ? p.ParameterType.GetElementType()! : p.ParameterType;
            var prefix = p.IsOut ? "out " : p.ParameterType.IsByRef ? (p.IsIn ? "in " : "ref ") : "";
            var text = $"{prefix}{TypeName(type, nullability.Create(p), p)} {p.Name}";
            return p.HasDefaultValue ? $"{text} = {Literal(p.RawDefaultValue, type)}" : text;
        }));

    private static string Literal(object? value, Type type)
    {
        var underlying = Nullable.GetUnderlyingType(type) ?? type;
        return value switch
        {
            null => underlying.IsValueType && Nullable.GetUnderlyingType(type) is null ? "default" : "null",
            string s => $"\"{s}\"",
            bool b => b ? "true" : "false",
            _ when underlying.IsEnum => $"{Name(underlying)}.{Enum.GetName(underlying, value) ?? value.ToString()}",
            IFormattable f => f.ToString(null, CultureInfo.InvariantCulture),
            _ => value.ToString() ?? "",
        };
    }

    /// <summary>A type as C# writes it, with its nullability where the compiler recorded one (and the element
    /// names of a tuple <paramref name="declared"/> returns or takes).</summary>
    private static string TypeName(Type type, NullabilityInfo? info, ParameterInfo? declared = null)
    {
        if (Nullable.GetUnderlyingType(type) is { } inner) return TypeName(inner, null) + "?";
        string name;
        if (type.IsArray)
            name = TypeName(type.GetElementType()!, info?.ElementType) + (type.GetArrayRank() == 1 ? "[]" : $"[{new string(',', type.GetArrayRank() - 1)}]");
        else if (type.IsGenericType)
        {
            var args = type.GetGenericArguments();
            var argNames = args.Select((a, i) => TypeName(a, info is not null && i < info.GenericTypeArguments.Length ? info.GenericTypeArguments[i] : null)).ToList();
            var tupleNames = declared?.GetCustomAttribute<TupleElementNamesAttribute>()?.TransformNames;
            if (tupleNames is not null)
                argNames = argNames.Select((a, i) => i < tupleNames.Count && tupleNames[i] is { } n ? $"{a} {n}" : a).ToList();
            name = type.FullName?.StartsWith("System.ValueTuple`", StringComparison.Ordinal) == true
                ? $"({string.Join(", ", argNames)})"
                : $"{Name(type.GetGenericTypeDefinition())}<{string.Join(", ", argNames)}>";
        }
        else name = Name(type);
        bool nullable = !type.IsValueType && info?.ReadState == NullabilityState.Nullable;
        return nullable ? name + "?" : name;
    }

    private static readonly Dictionary<Type, string> Keywords = new()
    {
        [typeof(void)] = "void", [typeof(object)] = "object", [typeof(string)] = "string", [typeof(bool)] = "bool",
        [typeof(byte)] = "byte", [typeof(sbyte)] = "sbyte", [typeof(short)] = "short", [typeof(ushort)] = "ushort",
        [typeof(int)] = "int", [typeof(uint)] = "uint", [typeof(long)] = "long", [typeof(ulong)] = "ulong",
        [typeof(float)] = "float", [typeof(double)] = "double", [typeof(decimal)] = "decimal", [typeof(char)] = "char",
    };

    /// <summary>The short name (nested types as Outer.Inner, generic arity dropped); generic arguments are the caller's.</summary>
    private static string Name(Type type)
    {
        if (Keywords.TryGetValue(type, out var keyword)) return keyword;
        if (type.IsGenericType && !type.IsGenericTypeDefinition) return TypeName(type, null);
        var name = type.Name;
        var tick = name.IndexOf('`');
        if (tick >= 0) name = name[..tick];
        return type.IsNested && !type.IsGenericParameter ? $"{Name(type.DeclaringType!)}.{name}" : name;
    }

    /// <summary>The lines that differ (a longest-common-subsequence diff), each under the type line it belongs to.</summary>
    private static string Diff(string expected, string actual)
    {
        var a = expected.Split('\n');
        var b = actual.Split('\n');
        var lcs = new int[a.Length + 1, b.Length + 1];
        for (int i = a.Length - 1; i >= 0; i--)
            for (int j = b.Length - 1; j >= 0; j--)
                lcs[i, j] = a[i] == b[j] ? lcs[i + 1, j + 1] + 1 : Math.Max(lcs[i + 1, j], lcs[i, j + 1]);
        var diff = new StringBuilder();
        string context = "", shown = "";
        void Line(char sign, string line)
        {
            if (!line.StartsWith(' ') && line.Length > 0 && !line.StartsWith('#')) context = line;
            else if (line.StartsWith(' ') && context != shown) diff.Append("  ").Append(context).Append('\n');
            shown = context;
            diff.Append(sign).Append(' ').Append(line).Append('\n');
        }
        int x = 0, y = 0;
        while (x < a.Length || y < b.Length)
        {
            if (x < a.Length && y < b.Length && a[x] == b[y])
            {
                if (!a[x].StartsWith(' ') && a[x].Length > 0) context = a[x];
                x++;
                y++;
            }
            else if (y < b.Length && (x == a.Length || lcs[x, y + 1] >= lcs[x + 1, y])) Line('+', b[y++]);
            else Line('-', a[x++]);
        }
        return diff.ToString();
    }
}
