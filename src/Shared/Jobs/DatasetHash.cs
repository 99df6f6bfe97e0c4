using System.Buffers.Binary;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using RnnCluster.Model;

namespace RnnCluster.Jobs;

/// <summary>The content hash a job's data set is known by on every node: SHA-256 over the shapes and float32 bytes of x, y and the initial states.</summary>
public static class DatasetHash
{
    public static string Of(Tensor x, Tensor y, IReadOnlyList<Tensor> initialStates)
    {
        using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        Add(sha, x);
        Add(sha, y);
        AddInt(sha, initialStates.Count);
        foreach (var s in initialStates) Add(sha, s);
        return "sha256:" + Convert.ToHexStringLower(sha.GetHashAndReset());
    }

    private static void Add(IncrementalHash sha, Tensor t)
    {
        AddInt(sha, t.Shape.Length);
        foreach (var d in t.Shape) AddInt(sha, d);
        sha.AppendData(MemoryMarshal.AsBytes(t.Data.AsSpan()));
    }

    private static void AddInt(IncrementalHash sha, int value)
    {
        Span<byte> bytes = stackalloc byte[4];
        BinaryPrimitives.WriteInt32LittleEndian(bytes, value);
        sha.AppendData(bytes);
    }

    public static string Of(Dataset data) => Of(data.X, data.Y, data.InitialStates);
}
