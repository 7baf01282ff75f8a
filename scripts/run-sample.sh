#!/usr/bin/env bash
# Packs the library (Fmnist.Core) into .artifacts/feed, then builds and runs samples/QuickStart against
# that package, as a user's project would use it (the sample has its own nuget.config pointing there).
# The cached copy of the same package version is dropped first, so the sample always gets this build.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
feed="$root/.artifacts/feed"
mkdir -p "$feed"
dotnet pack "$root/src/Fmnist.Core/Fmnist.Core.csproj" -c Release -o "$feed" -nologo -v quiet
version="$(sed -n 's:.*<Version>\(.*\)</Version>.*:\1:p' "$root/Directory.Build.props" | head -1)"
rm -rf "${NUGET_PACKAGES:-$HOME/.nuget/packages}/fmnist.core/${version:-1.0.0}"
dotnet run --project "$root/samples/QuickStart/QuickStart.csproj" -c Release -- "$@"
