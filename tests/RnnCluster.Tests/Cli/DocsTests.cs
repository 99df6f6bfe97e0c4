using System.Text.RegularExpressions;
using RnnCluster.Tests.Jobs;
using Xunit;

namespace RnnCluster.Tests.Cli;

/// <summary>Cross-references from the source to the design notes resolve inside the repository.</summary>
public sealed partial class DocsTests
{
    [Fact]
    public void Every_design_note_the_source_cites_is_in_docs()
    {
        var root = JobTestSupport.RepoRoot;
        var design = File.ReadAllText(Path.Combine(root, "docs", "DESIGN.md"));
        var files = new[] { "src", "bench", "tests", "deploy" }
            .SelectMany(d => Directory.EnumerateFiles(Path.Combine(root, d), "*.*", SearchOption.AllDirectories))
            .Where(f => f.EndsWith(".cs", StringComparison.Ordinal) || f.EndsWith(".sh", StringComparison.Ordinal))
            .Where(f => Path.GetFileName(f) != "DocsTests.cs") // this file quotes the citation forms
            .Where(f => !f.Contains($"{Path.DirectorySeparatorChar}obj{Path.DirectorySeparatorChar}") && !f.Contains($"{Path.DirectorySeparatorChar}bin{Path.DirectorySeparatorChar}"));
        int cited = 0;
        foreach (var file in files)
        {
            foreach (Match m in Citation().Matches(File.ReadAllText(file)))
            {
                cited++;
                Assert.True(m.Groups[1].Value == "docs/", $"{Path.GetRelativePath(root, file)} cites '{m.Value}': the notes are docs/DESIGN.md");
                // "docs/DESIGN.md: bit-for-bit reruns" names a passage that must be there.
                if (m.Groups[2].Success)
                    Assert.True(design.Contains(m.Groups[2].Value.Trim(), StringComparison.OrdinalIgnoreCase), $"{Path.GetRelativePath(root, file)}: docs/DESIGN.md has no '{m.Groups[2].Value.Trim()}'");
            }
        }
        Assert.True(cited > 0, "no citation of docs/DESIGN.md found: the test looks in the wrong place");
    }

    [GeneratedRegex(@"([\w./]*/)?DESIGN\.md(?::\s*([\w\- ]+))?")]
    private static partial Regex Citation();
}
