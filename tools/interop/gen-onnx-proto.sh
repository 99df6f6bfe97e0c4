#!/usr/bin/env bash
# Regenerates src/Shared/Interop/Onnx/Proto/Onnx.g.cs from onnx.proto3 with protoc from the
# Google.Protobuf.Tools NuGet package (restored into a scratch project; nothing else is built).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
proto="$root/src/Shared/Interop/Onnx/Proto"
scratch="$(mktemp -d)"
trap 'rm -rf "$scratch"' EXIT
cat > "$scratch/protoc.csproj" <<'XML'
<Project Sdk="Microsoft.NET.Sdk">
  <PropertyGroup><TargetFramework>net10.0</TargetFramework></PropertyGroup>
  <ItemGroup><PackageReference Include="Google.Protobuf.Tools" /></ItemGroup>
</Project>
XML
cp "$root/Directory.Packages.props" "$scratch/"
echo '<Project><PropertyGroup><ManagePackageVersionsCentrally>true</ManagePackageVersionsCentrally></PropertyGroup></Project>' > "$scratch/Directory.Build.props"
dotnet restore "$scratch/protoc.csproj" >/dev/null
version=$(sed -n 's/.*Include="Google.Protobuf.Tools" Version="\([^"]*\)".*/\1/p' "$root/Directory.Packages.props")
protoc="${NUGET_PACKAGES:-$HOME/.nuget/packages}/google.protobuf.tools/$version/tools/linux_x64/protoc"
chmod +x "$protoc"
"$protoc" --proto_path="$proto" --csharp_out="$proto" --csharp_opt=internal_access,file_extension=.g.cs "$proto/onnx.proto3"
echo "wrote $proto/Onnx.g.cs"
