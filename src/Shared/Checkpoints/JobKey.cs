using System.Security.Cryptography;
using System.Text;
using RnnCluster.Jobs;
using RnnCluster.Model;

namespace RnnCluster.Checkpoints;

/// <summary>
/// Names a job's checkpoint folder: the job's name and the first 16 hex digits of the SHA-256 of
/// the job spec and the data (shapes and float bits of x, y and the initial states). The same
/// job on the same data finds its checkpoints again; a changed spec or data starts afresh.
/// </summary>
public static class JobKey
{
    public static string Of(string name, string specJson, Dataset data) => Of(name, specJson, DataHash(data));

    public static string Of(string name, string specJson, string dataHash)
    {
        using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        sha.AppendData(Encoding.UTF8.GetBytes(specJson));
        sha.AppendData([0]);
        sha.AppendData(Encoding.ASCII.GetBytes(dataHash));
        return $"{Sanitize(name)}-{Convert.ToHexStringLower(sha.GetHashAndReset())[..16]}";
    }

    /// <summary>The data's content hash, the one its nodes know it by (<see cref="DatasetHash"/>).</summary>
    public static string DataHash(Dataset data) => DatasetHash.Of(data);

    private static string Sanitize(string name)
    {
        var chars = name.Select(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' ? c : '-').Take(40).ToArray();
        return chars.Length == 0 ? "job" : new string(chars);
    }
}
