using RnnCluster.Coordinator.Cli;
using RnnCluster.Security;
using RnnCluster.Tests.Cluster;
using Xunit;

namespace RnnCluster.Tests.Security;

/// <summary>
/// Certificates for the TLS tests, made with <c>rnncluster certs</c>'s own code in a temporary
/// folder: the cluster CA with a coordinator, a worker and a client certificate, plus the bad
/// cases (a client of another CA, an expired client, a worker folder holding a client certificate).
/// </summary>
public sealed class TlsCertificates : IDisposable
{
    private readonly DirectoryInfo _root = Directory.CreateTempSubdirectory("rnncluster-tls-");

    public TlsCertificates()
    {
        CertsCommand.Init(Dir("ca"), "test cluster CA", null, TextWriter.Null);
        CertsCommand.Node("coordinator", ClusterRole.Coordinator, Dir("ca"), Coordinator, ["127.0.0.1"], null, TextWriter.Null);
        CertsCommand.Node("worker-1", ClusterRole.Worker, Dir("ca"), Worker, ["127.0.0.1"], null, TextWriter.Null);
        CertsCommand.Node("worker-2", ClusterRole.Worker, Dir("ca"), Dir("worker-2"), ["127.0.0.1"], null, TextWriter.Null);
        CertsCommand.Client("alice", Dir("ca"), Client, null, TextWriter.Null);
        CertsCommand.Client("bob", Dir("ca"), ClientAsWorker, null, TextWriter.Null);

        CertsCommand.Init(Dir("other-ca"), "some other CA", null, TextWriter.Null);
        CertsCommand.Client("mallory", Dir("other-ca"), OtherCaClient, null, TextWriter.Null);
        // The stranger trusts our CA (it copied ca.crt), so only the cluster's check of its own certificate stands in its way.
        File.Copy(Path.Combine(Dir("ca"), TlsFiles.Authority), Path.Combine(Dir("mallory-trusting-us"), TlsFiles.Authority));
        File.Copy(Path.Combine(OtherCaClient, TlsFiles.Certificate), Path.Combine(Dir("mallory-trusting-us"), TlsFiles.Certificate));
        File.Copy(Path.Combine(OtherCaClient, TlsFiles.Key), Path.Combine(Dir("mallory-trusting-us"), TlsFiles.Key));

        using var ca = TlsFiles.ReadCertificateWithKey(Path.Combine(Dir("ca"), TlsFiles.Authority), Path.Combine(Dir("ca"), TlsFiles.AuthorityKey));
        using var expired = CertificateAuthority.Issue(ca, "old-client", ClusterRole.Client, [], TimeSpan.FromDays(1), DateTimeOffset.UtcNow.AddDays(-10));
        TlsFiles.WriteCertificate(Path.Combine(ExpiredClient, TlsFiles.Authority), ca);
        TlsFiles.WriteCertificate(Path.Combine(ExpiredClient, TlsFiles.Certificate), expired);
        TlsFiles.WriteKey(Path.Combine(ExpiredClient, TlsFiles.Key), expired);
    }

    public string Coordinator => Dir("coordinator");
    public string Worker => Dir("worker-1");
    public string SecondWorker => Dir("worker-2");
    public string Client => Dir("alice");
    public string ClientAsWorker => Dir("bob");
    public string OtherCaClient => Dir("mallory");
    public string OtherCaClientTrustingUs => Dir("mallory-trusting-us");
    public string ExpiredClient => Dir("old-client");

    public string Dir(string name)
    {
        var path = Path.Combine(_root.FullName, name);
        Directory.CreateDirectory(path);
        return path;
    }

    public void Dispose() => _root.Delete(recursive: true);
}

/// <summary>A TLS coordinator and one TLS worker as OS processes (managed math), the worker registered.</summary>
public sealed class TlsClusterFixture : IAsyncLifetime
{
    public TlsCertificates Certificates { get; } = new();

    public ProcessCluster Cluster { get; } = new();

    public RunningProcess Coordinator { get; private set; } = null!;

    public RunningProcess Worker { get; private set; } = null!;

    public int Port { get; private set; }

    public string Contact => $"127.0.0.1:{Port}";

    public async Task InitializeAsync()
    {
        Port = ProcessCluster.FreePort();
        // The test machine is shared and often overloaded (load averages of 50 on 2 cores were seen):
        // a longer heartbeat pause keeps a starved worker from being taken for lost; TLS is what is tested.
        var patience = Path.Combine(Certificates.Dir("config"), "patient.conf");
        File.WriteAllText(patience, "akka.cluster.failure-detector.acceptable-heartbeat-pause = 20s\n");
        Coordinator = Cluster.Start("rnncluster", "coordinator", "--host", "127.0.0.1", "--port", Port.ToString(), "--tls-dir", Certificates.Coordinator, "--config", patience);
        await Coordinator.WaitForOutputAsync("coordinator node at", ProcessCluster.StartTimeout);
        Worker = Cluster.Start("rnncluster-worker", "--seed", Contact, "--workers", "1", "--math", "managed", "--tls-dir", Certificates.Worker, "--config", patience);
        await WaitForWorkersAsync(1);
    }

    /// <summary>Polls <c>rnncluster status</c> with the client certificate until it reports <paramref name="count"/> workers.</summary>
    public async Task WaitForWorkersAsync(int count)
    {
        var deadline = DateTime.UtcNow + ProcessCluster.StartTimeout;
        string last = "";
        while (DateTime.UtcNow < deadline)
        {
            var status = await Status();
            last = status.Output + status.Error;
            if (status.ExitCode == 0 && status.Output.Contains($"workers {count}\n", StringComparison.Ordinal)) return;
            await Task.Delay(500);
        }
        Assert.Fail($"the TLS cluster did not report {count} workers within {ProcessCluster.StartTimeout.TotalSeconds} s; last status: {last}\ncoordinator:\n{Coordinator.Output}");
    }

    public Task<(int ExitCode, string Output, string Error, TimeSpan Elapsed)> Status() =>
        ProcessCluster.RunToEndAsync(TimeSpan.FromSeconds(60), "rnncluster", "status", "--contact", Contact, "--timeout", "20", "--tls-dir", Certificates.Client);

    public async Task DisposeAsync()
    {
        await Cluster.DisposeAsync();
        Certificates.Dispose();
    }
}
