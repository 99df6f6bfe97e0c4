using System.Diagnostics;
using System.Runtime.Serialization;
using RnnCluster.Model;
using RnnCluster.Protocol;
using Xunit;

namespace RnnCluster.Tests.Protocol;

/// <summary>
/// The serializer against hostile input: mutated and random payloads for every manifest, hostile
/// length fields, mixed protocol versions. Only <see cref="SerializationException"/> may come out,
/// nothing may hang, and what a read allocates stays bounded by what it was given.
/// </summary>
public sealed partial class SerializerTests
{
    /// <summary>Payloads per run; every manifest gets its share.</summary>
    private const int FuzzPayloads = 120_000;

    [Fact]
    public async Task Fuzzed_payloads_for_every_manifest_give_only_serialization_errors_in_bounded_time_and_memory()
    {
        var serializer = ProtocolSerializerOf(Sys);
        var seeds = Samples().SelectMany(kv => kv.Value).Select(m => (Manifest: serializer.Manifest(m), Bytes: serializer.ToBinary(m))).ToArray();
        var manifests = seeds.Select(s => s.Manifest).Distinct().ToArray();
        Assert.Equal(ProtocolSerializer.MessageTypes.Count, manifests.Length);

        var random = new Random(20261201);
        long refused = 0, accepted = 0, worstAllocation = 0;
        string worst = "";
        var clock = Stopwatch.StartNew();
        var run = Task.Run(() =>
        {
            for (int i = 0; i < FuzzPayloads; i++)
            {
                var (manifest, payload) = Mutate(seeds[i % seeds.Length], manifests, random, i);
                long before = GC.GetAllocatedBytesForCurrentThread();
                try
                {
                    serializer.FromBinary(payload, manifest);
                    accepted++;
                }
                catch (SerializationException)
                {
                    refused++;
                }
                catch (Exception e)
                {
                    throw new Xunit.Sdk.XunitException($"payload {i} ({manifest}, {payload.Length} bytes) threw {e.GetType().Name}: {e.Message}\n{Convert.ToHexString(payload.AsSpan(0, Math.Min(payload.Length, 256)))}");
                }
                // What one read may allocate: a copy of what it was given, the message objects
                // around it and the exception; never what a length field claims.
                long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
                long excess = allocated - 4L * payload.Length;
                if (excess > worstAllocation)
                {
                    worstAllocation = excess;
                    worst = $"{manifest}, {payload.Length} bytes allocated {allocated}";
                }
            }
        });
        await run.WaitAsync(TimeSpan.FromMinutes(4));
        _output.WriteLine($"{FuzzPayloads} payloads over {manifests.Length} manifests in {clock.Elapsed.TotalSeconds:0.0} s: {refused} refused, {accepted} read; " +
                          $"worst allocation beyond 4x the payload: {worstAllocation} bytes ({worst})");
        Assert.Equal(FuzzPayloads, refused + accepted);
        Assert.True(refused > FuzzPayloads / 2, $"only {refused} of {FuzzPayloads} refused: the mutations are too gentle to test anything");
        Assert.True(worstAllocation < 256 * 1024, $"a read allocated {worstAllocation} bytes beyond 4x its payload ({worst})");
    }

    /// <summary>
    /// One hostile payload from a valid one: bit flips, overwritten bytes, a length-like field set
    /// to a huge or negative value, cuts, insertions, pure noise, or the bytes of one message under
    /// another's manifest.
    /// </summary>
    private static (string Manifest, byte[] Payload) Mutate((string Manifest, byte[] Bytes) seed, string[] manifests, Random random, int i)
    {
        var bytes = (byte[])seed.Bytes.Clone();
        var manifest = seed.Manifest;
        switch (i % 8)
        {
            case 0: // a few bit flips
                for (int k = 0, n = 1 + random.Next(4); k < n && bytes.Length > 0; k++) bytes[random.Next(bytes.Length)] ^= (byte)(1 << random.Next(8));
                break;
            case 1: // random bytes over a random run
                if (bytes.Length > 0)
                {
                    int at = random.Next(bytes.Length);
                    random.NextBytes(bytes.AsSpan(at, Math.Min(bytes.Length - at, 1 + random.Next(16))));
                }
                break;
            case 2: // a hostile 32-bit length/count/dimension at a random offset
                if (bytes.Length >= 4)
                {
                    int[] hostile = [int.MaxValue, int.MinValue, -1, -2, 1 << 30, 0x7FFFFFF0, 65_536, bytes.Length * 2];
                    BitConverter.TryWriteBytes(bytes.AsSpan(random.Next(bytes.Length - 3), 4), hostile[random.Next(hostile.Length)]);
                }
                break;
            case 3: // cut short
                bytes = bytes[..random.Next(bytes.Length + 1)];
                break;
            case 4: // bytes inserted
                {
                    var extra = new byte[1 + random.Next(32)];
                    random.NextBytes(extra);
                    int at = random.Next(bytes.Length + 1);
                    bytes = [.. bytes[..at], .. extra, .. bytes[at..]];
                }
                break;
            case 5: // noise
                bytes = new byte[random.Next(512)];
                random.NextBytes(bytes);
                break;
            case 6: // another message's bytes under this manifest
                manifest = manifests[random.Next(manifests.Length)];
                break;
            default: // a hostile 7-bit string length at a random offset
                if (bytes.Length >= 5)
                {
                    int at = random.Next(bytes.Length - 4);
                    bytes[at] = 0xFF; bytes[at + 1] = 0xFF; bytes[at + 2] = 0xFF; bytes[at + 3] = 0xFF; bytes[at + 4] = 0x07;
                }
                break;
        }
        return (manifest, bytes);
    }

    [Fact]
    public void A_hostile_string_length_is_refused_before_decoding()
    {
        var serializer = ProtocolSerializerOf(Sys);
        // "JobRejected" holds one string: a 7-bit length of 2^31-1 followed by three bytes.
        byte[] bytes = [0xFF, 0xFF, 0xFF, 0xFF, 0x07, (byte)'a', (byte)'b', (byte)'c'];
        long before = GC.GetAllocatedBytesForCurrentThread();
        var e = Assert.Throws<SerializationException>(() => serializer.FromBinary(bytes, serializer.Manifest(new JobRejected("x"))));
        Assert.Contains("string of 2147483647 bytes in a message with 3 left", e.Message);
        Assert.True(GC.GetAllocatedBytesForCurrentThread() - before < 64 * 1024);
    }

    [Fact]
    public void A_transfer_claiming_more_than_the_limit_is_refused_before_the_transfer_layer_sizes_a_buffer()
    {
        var serializer = ProtocolSerializerOf(Sys);
        foreach (var (chunk, reason) in new (Transport.TransferChunk, string)[]
                 {
                     (new(1, 0, 1, int.MaxValue, "t", "s", "m", new byte[4]), $"a transfer of {int.MaxValue} bytes"),
                     (new(1, 0, 1, -5, "t", "s", "m", new byte[4]), "a transfer of -5 bytes"),
                     (new(1, 3, 3, 100, "t", "s", "m", new byte[4]), "chunk 3 of 3"),
                     (new(1, 0, 0, 100, "t", "s", "m", new byte[4]), "chunk 0 of 0"),
                     (new(1, 0, 1, 2, "t", "s", "m", new byte[4]), "a chunk of 4 bytes in a transfer of 2"),
                 })
        {
            var e = Assert.Throws<SerializationException>(() => serializer.FromBinary(serializer.ToBinary(chunk), serializer.Manifest(chunk)));
            Assert.Contains(reason, e.Message);
        }
    }

    [Fact]
    public void A_message_of_another_protocol_version_fails_naming_both_versions()
    {
        var serializer = ProtocolSerializerOf(Sys);
        var bytes = serializer.ToBinary(new StopJob("j"));

        var newer = Assert.Throws<SerializationException>(() => serializer.FromBinary(bytes, "StopJob@2"));
        Assert.Equal("StopJob message of protocol version 2 from the sender; this program reads version 1 (mixed versions of rnncluster: run the same version on every node and client)", newer.Message);
        var unversioned = Assert.Throws<SerializationException>(() => serializer.FromBinary(bytes, "StopJob"));
        Assert.StartsWith("StopJob message of protocol version 0 (unversioned) from the sender; this program reads version 1", unversioned.Message);
        Assert.IsType<StopJob>(serializer.FromBinary(bytes, "StopJob@1"));
    }

    [Fact]
    public void A_bool_byte_other_than_0_or_1_is_corruption()
    {
        var serializer = ProtocolSerializerOf(Sys);
        // FromLogits is the byte before DataHash, which an empty string writes as one length byte.
        var message = new LoadReplica("j", "{}", "mse", FromLogits: true, DataHash: "");
        var bytes = serializer.ToBinary(message);
        Assert.Equal(1, bytes[^2]);
        bytes[^2] = 2;
        var e = Assert.Throws<SerializationException>(() => serializer.FromBinary(bytes, serializer.Manifest(message)));
        Assert.Contains("bool byte 2", e.Message);
    }

    [Fact]
    public void A_payload_larger_than_the_message_limit_is_refused_unread()
    {
        var serializer = ProtocolSerializerOf(Sys);
        Assert.True(ProtocolSerializer.MaxMessageBytes <= Array.MaxLength);
        // A shape that asks for far more floats than the bytes hold is refused at the shape, before any allocation.
        var bytes = serializer.ToBinary(new ReplicaWeights("j", 1, new Tensor(new float[6], 2, 3)));
        BitConverter.TryWriteBytes(bytes.AsSpan(14, 4), 1 << 20);
        long before = GC.GetAllocatedBytesForCurrentThread();
        var e = Assert.Throws<SerializationException>(() => serializer.FromBinary(bytes, serializer.Manifest(new ReplicaWeights("j", 1, Tensor.Zeros(1)))));
        Assert.Contains("longer than the message", e.Message);
        Assert.True(GC.GetAllocatedBytesForCurrentThread() - before < 64 * 1024);
    }
}
