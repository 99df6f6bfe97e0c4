namespace RnnCluster.CommandLine;

/// <summary>"Did you mean ...?" for a mistyped command or option name.</summary>
public static class Suggestions
{
    /// <summary>
    /// The candidates closest to <paramref name="typed"/>: within an edit distance of a third of its
    /// length (at least 1; a swap of two neighbours counts as one edit), or the only candidate it is
    /// a prefix of. Best first; empty when nothing is close.
    /// </summary>
    public static IReadOnlyList<string> For(string typed, IEnumerable<string> candidates)
    {
        var list = candidates.Distinct(StringComparer.Ordinal).ToList();
        string bare = typed.TrimStart('-');
        int limit = Math.Max(1, bare.Length / 3);
        var close = list
            .Select(c => (Name: c, Distance: Distance(typed.ToLowerInvariant(), c.ToLowerInvariant())))
            .Where(c => c.Distance <= limit)
            .OrderBy(c => c.Distance).ThenBy(c => c.Name, StringComparer.Ordinal)
            .Select(c => c.Name)
            .ToList();
        if (close.Count > 0) return close;
        var prefixed = list.Where(c => bare.Length > 0 && c.StartsWith(typed, StringComparison.OrdinalIgnoreCase)).ToList();
        return prefixed.Count == 1 ? prefixed : [];
    }

    /// <summary>" (did you mean --workers?)", or "" when nothing is close.</summary>
    public static string Phrase(string typed, IEnumerable<string> candidates)
    {
        var found = For(typed, candidates);
        return found.Count == 0 ? "" : $"; did you mean {string.Join(" or ", found.Take(2))}?";
    }

    /// <summary>Optimal string alignment distance (Levenshtein plus adjacent transpositions).</summary>
    public static int Distance(string a, string b)
    {
        var d = new int[a.Length + 1, b.Length + 1];
        for (int i = 0; i <= a.Length; i++) d[i, 0] = i;
        for (int j = 0; j <= b.Length; j++) d[0, j] = j;
        for (int i = 1; i <= a.Length; i++)
        {
            for (int j = 1; j <= b.Length; j++)
            {
                int cost = a[i - 1] == b[j - 1] ? 0 : 1;
                d[i, j] = Math.Min(Math.Min(d[i - 1, j] + 1, d[i, j - 1] + 1), d[i - 1, j - 1] + cost);
                if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1])
                    d[i, j] = Math.Min(d[i, j], d[i - 2, j - 2] + 1);
            }
        }
        return d[a.Length, b.Length];
    }
}
