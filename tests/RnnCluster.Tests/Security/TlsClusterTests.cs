using System.Diagnostics;
using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using Akka.Actor;
using Akka.Actor.Setup;
using Akka.Configuration;
using RnnCluster.Hosting;
using RnnCluster.Model;
using RnnCluster.Protocol;
using RnnCluster.Security;
using RnnCluster.Tests.Cluster;
using Xunit;
using Xunit.Abstractions;

namespace RnnCluster.Tests.Security;

/// <summary>
/// Mutual TLS with real processes on 127.0.0.1: a TLS coordinator and worker train a job a client
/// with a client certificate submits, to the weights of the plain run; strangers are refused
/// within 30 s with one line naming the reason while that job runs, undisturbed; junk on the
/// port changes nothing; a client certificate cannot join as a worker, a worker certificate
/// cannot join as a coordinator or serve a client as one.
/// </summary>
[Collection(ClusterCollection.Name)]
public sealed class TlsClusterTests(TlsClusterFixture fixture, ITestOutputHelper output) : IClassFixture<TlsClusterFixture>
{
    private static readonly TimeSpan JobTimeout = TimeSpan.FromMinutes(6);
    private static readonly TimeSpan RefusalLimit = TimeSpan.FromSeconds(30);

    private TlsCertificates Certificates => fixture.Certificates;

    [Fact]
    public async Task A_client_certificate_trains_to_the_plain_weights_while_strangers_are_refused()
    {
        var root = Directory.CreateTempSubdirectory("rnncluster-tls-run-");
        try
        {
            var tlsOut = Path.Combine(root.FullName, "tls");
            var plainOut = Path.Combine(root.FullName, "plain");
            var job = ProcessCluster.RunToEndAsync(JobTimeout, "rnncluster",
                "submit", "--contact", fixture.Contact, "--tls-dir", Certificates.Client, "--epochs", "300", "--seed", "7", "--out", tlsOut);
            var started = DateTime.UtcNow;

            // While the job runs: each stranger is refused quickly, with one line naming why. (How
            // long the job runs depends on the machine's load; the first refusal, a plain client
            // knocking on the TLS port, takes its 5 s timeout and must end while the job still runs:
            // 300 epochs last about 18 s on an idle 2-core machine, 40 were over in 3 s.)
            await Refused(["status", "--contact", fixture.Contact, "--timeout", "5"], "speaks TLS and this client does not");
            if (job.IsCompleted)
            {
                var early = await job;
                Assert.Fail($"the job ended (exit {early.ExitCode}) before the first refusal did, so nothing shows it was left undisturbed:\n{early.Output}{early.Error}");
            }
            await Refused(["status", "--contact", fixture.Contact, "--timeout", "5", "--tls-dir", Certificates.OtherCaClient],
                "is not issued by this cluster's CA (some other CA)");
            await Refused(["status", "--contact", fixture.Contact, "--timeout", "5", "--tls-dir", Certificates.OtherCaClientTrustingUs],
                "the certificate 'mallory' (client) (issuer some other CA) is not issued by this cluster's CA (test cluster CA)");
            await Refused(["status", "--contact", fixture.Contact, "--timeout", "5", "--tls-dir", Certificates.ExpiredClient],
                "the certificate 'old-client' (client) expired on ");
            await Refused(["--seed", fixture.Contact, "--math", "managed", "--tls-dir", Certificates.ClientAsWorker],
                "is a client certificate ('bob' (client)); a worker node needs a worker certificate", program: "rnncluster-worker");
            output.WriteLine($"refusals done {(DateTime.UtcNow - started).TotalSeconds:0.0} s after the job was submitted; job still running: {!job.IsCompleted}");

            var tls = await job;
            output.WriteLine($"submit ({tls.Elapsed.TotalSeconds:0.0} s):\n{tls.Output}{tls.Error}");
            Assert.True(tls.ExitCode == 0, $"submit exited with {tls.ExitCode}: {tls.Error}");
            Assert.Contains("epoch 300/300  loss", tls.Output);

            var plain = await ProcessCluster.RunToEndAsync(JobTimeout, "rnncluster",
                "train", "--workers", "1", "--epochs", "300", "--seed", "7", "--math", "managed", "--out", plainOut);
            Assert.True(plain.ExitCode == 0, $"train exited with {plain.ExitCode}: {plain.Error}");
            var expected = WeightsFile.Load(Path.Combine(plainOut, "weights.npz"));
            var actual = WeightsFile.Load(Path.Combine(tlsOut, "weights.npz"));
            ClusterJobs.AssertClose(
                [.. expected.Select(kv => new NamedTensor(kv.Key, kv.Value))],
                [.. actual.Select(kv => new NamedTensor(kv.Key, kv.Value))],
                relative: 1e-5);
        }
        finally
        {
            root.Delete(recursive: true);
        }
    }

    [Fact]
    public async Task The_coordinator_refuses_foreign_expired_and_missing_client_certificates_in_the_handshake()
    {
        // Straight TLS handshakes, past every check a well-behaved client makes of itself.
        await HandshakeIsRefused(Path.Combine(Certificates.OtherCaClient, TlsFiles.Certificate), Path.Combine(Certificates.OtherCaClient, TlsFiles.Key));
        await HandshakeIsRefused(Path.Combine(Certificates.ExpiredClient, TlsFiles.Certificate), Path.Combine(Certificates.ExpiredClient, TlsFiles.Key));
        await HandshakeIsRefused(null, null);
        await WaitForLog("refused the TLS connection from", "the certificate 'mallory' (client) (issuer some other CA) is not issued by this cluster's CA");
        await WaitForLog("refused the TLS connection from", "the certificate 'old-client' (client) expired on");
        await WaitForLog("Mutual TLS required but client did not provide a certificate");
        await StillServes();
    }

    [Fact]
    public async Task Plain_tcp_and_random_bytes_on_the_port_change_nothing()
    {
        var random = new Random(11);
        for (int i = 0; i < 20; i++)
        {
            using var tcp = new TcpClient();
            await tcp.ConnectAsync(IPAddress.Loopback, fixture.Port);
            var junk = new byte[random.Next(1, 70_000)];
            random.NextBytes(junk);
            if (i % 5 == 0) junk = Encoding.ASCII.GetBytes("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
            if (i % 5 == 1) junk[0] = 0x16; // a TLS record header, then garbage
            try
            {
                await tcp.GetStream().WriteAsync(junk);
                tcp.Client.ReceiveTimeout = 2000;
                _ = await tcp.GetStream().ReadAsync(new byte[1024]).AsTask().WaitAsync(TimeSpan.FromSeconds(2));
            }
            catch (Exception e) when (e is IOException or SocketException or TimeoutException)
            {
                // the node drops it: what it should do
            }
        }
        await StillServes();
        Assert.False(fixture.Coordinator.Process.HasExited);
    }

    [Fact]
    public async Task A_client_certificate_cannot_join_as_a_worker_nor_a_worker_certificate_as_a_coordinator()
    {
        await RogueMemberIsDowned(Certificates.ClientAsWorker, AkkaCluster.WorkerRole, "joined as a worker but serves a client certificate", mayRegister: false);
        // A worker certificate may register workers; it may not be a coordinator member.
        await RogueMemberIsDowned(Certificates.SecondWorker, AkkaCluster.CoordinatorRole, "joined as a coordinator but serves a worker certificate", mayRegister: true);
        await WaitForLog("refused worker", "joined as a worker but serves a client certificate");
        await StillServes();
    }

    [Fact]
    public async Task A_client_refuses_a_contact_that_serves_a_worker_certificate()
    {
        // A worker-certificate holder poses as the coordinator: a TLS server with the worker's certificate.
        using var worker = TlsFiles.ReadCertificateWithKey(Path.Combine(Certificates.SecondWorker, TlsFiles.Certificate), Path.Combine(Certificates.SecondWorker, TlsFiles.Key));
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        using var stop = new CancellationTokenSource();
        async Task Serve(TcpClient tcp)
        {
            using (tcp)
                try
                {
                    await using var tls = new SslStream(tcp.GetStream(), false, (_, _, _, _) => true);
                    await tls.AuthenticateAsServerAsync(new SslServerAuthenticationOptions { ServerCertificate = worker, ClientCertificateRequired = true }, stop.Token);
                    _ = await tls.ReadAtLeastAsync(new byte[16], 1, throwOnEndOfStream: false, stop.Token);
                }
                catch (Exception e) when (e is IOException or System.Security.Authentication.AuthenticationException or OperationCanceledException)
                {
                    // the client hung up on it
                }
        }
        var server = Task.Run(async () =>
        {
            var connections = new List<Task>();
            try
            {
                while (!stop.IsCancellationRequested) connections.Add(Serve(await listener.AcceptTcpClientAsync(stop.Token)));
            }
            catch (Exception e) when (e is OperationCanceledException or SocketException or ObjectDisposedException)
            {
                // stopped
            }
            await Task.WhenAll(connections);
        });
        try
        {
            var port = ((IPEndPoint)listener.LocalEndpoint).Port;
            await Refused(["status", "--contact", $"127.0.0.1:{port}", "--timeout", "5", "--tls-dir", Certificates.Client],
                "a worker certificate ('worker-2' (worker)) may not serve a client (accepted here: coordinator)");
        }
        finally
        {
            stop.Cancel();
            listener.Stop();
            await Task.WhenAny(server, Task.Delay(5000));
        }
    }

    /// <summary>Runs a program expected to fail: non-zero exit within 30 s, one line on stderr containing <paramref name="reason"/>.</summary>
    private async Task Refused(string[] args, string reason, string program = "rnncluster")
    {
        var run = await ProcessCluster.RunToEndAsync(TimeSpan.FromSeconds(60), program, args);
        output.WriteLine($"{program} {string.Join(' ', args)}: exit {run.ExitCode} after {run.Elapsed.TotalSeconds:0.0} s: {run.Error.Trim()}");
        Assert.NotEqual(0, run.ExitCode);
        Assert.True(run.Elapsed < RefusalLimit, $"refused only after {run.Elapsed.TotalSeconds:0.0} s");
        var line = Assert.Single(run.Error.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.Contains(reason, line);
    }

    private async Task HandshakeIsRefused(string? certificate, string? key)
    {
        using var own = certificate is null ? null : X509Certificate2.CreateFromPemFile(certificate, key);
        using var tcp = new TcpClient();
        await tcp.ConnectAsync(IPAddress.Loopback, fixture.Port);
        await using var tls = new SslStream(tcp.GetStream(), false, (_, _, _, _) => true);
        var clock = Stopwatch.StartNew();
        var e = await Record.ExceptionAsync(async () =>
        {
            await tls.AuthenticateAsClientAsync(new SslClientAuthenticationOptions
            {
                TargetHost = "127.0.0.1",
                ClientCertificates = own is null ? null : new X509CertificateCollection { X509CertificateLoader.LoadPkcs12(own.Export(X509ContentType.Pkcs12), null) },
            });
            // TLS 1.3: the server's verdict on the client's certificate comes with the first read.
            var read = await tls.ReadAsync(new byte[16]).AsTask().WaitAsync(RefusalLimit);
            if (read == 0) throw new IOException("closed by the server");
        });
        Assert.True(e is IOException or System.Security.Authentication.AuthenticationException, $"expected the handshake to be refused, got {e?.GetType().Name ?? "a working connection"}");
        Assert.True(clock.Elapsed < RefusalLimit);
    }

    /// <summary>
    /// A member that skips the programs' own checks: a cluster node with <paramref name="tlsDirectory"/>'s
    /// certificate joining the TLS cluster with <paramref name="role"/>, which then tries to
    /// register a worker. It must be downed within 30 s and get no registration.
    /// </summary>
    private async Task RogueMemberIsDowned(string tlsDirectory, string role, string reason, bool mayRegister)
    {
        var identity = TlsIdentity.Load(tlsDirectory);
        var options = new NodeOptions { Host = "127.0.0.1", Port = 0 };
        var config = ConfigurationFactory.ParseString($"akka.cluster.seed-nodes = [\"akka.ssl.tcp://{AkkaCluster.SystemName}@127.0.0.1:{fixture.Port}\"]")
            .WithFallback(RemotingTls.Hocon(validateHostname: false))
            .WithFallback(AkkaCluster.FastFailureDetection())
            .WithFallback(AkkaCluster.Node(options, role, "WARNING"));
        var tls = RemotingTls.Setup(identity, TlsPeerPolicy.For(identity.Role == ClusterRole.Client ? ClusterRole.Worker : identity.Role));
        var system = ActorSystem.Create(AkkaCluster.SystemName, ActorSystemSetup.Create(BootstrapSetup.Create().WithConfig(config), tls.Transport));
        try
        {
            var removed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            var cluster = Akka.Cluster.Cluster.Get(system);
            cluster.RegisterOnMemberRemoved(() => removed.TrySetResult());
            var registered = new TaskCompletionSource<object>(TaskCreationOptions.RunContinuationsAsynchronously);
            // It asks to be registered at once, over and over, before and after joining.
            var coordinator = $"akka.ssl.tcp://{AkkaCluster.SystemName}@127.0.0.1:{fixture.Port}/user/{AkkaCluster.SingletonManagerName}/{AkkaCluster.SingletonName}";
            system.ActorOf(Props.Create(() => new RogueWorker(registered, coordinator)), "worker");
            var clock = Stopwatch.StartNew();
            var first = await Task.WhenAny(removed.Task, Task.Delay(RefusalLimit));
            output.WriteLine($"rogue {role} with {ClusterTrust.Describe(identity.Certificate)}: {(first == removed.Task ? "downed" : "still a member")} after {clock.Elapsed.TotalSeconds:0.0} s; registered as a worker: {registered.Task.IsCompleted}");
            Assert.True(first == removed.Task, "the rogue was not downed within 30 s");
            if (!mayRegister) Assert.False(registered.Task.IsCompleted, "the rogue was registered as a worker");
            await WaitForLog("refused member", reason);
        }
        finally
        {
            await system.Terminate().WaitAsync(TimeSpan.FromSeconds(20));
        }
    }

    private sealed class RogueWorker : ReceiveActor, IWithTimers
    {
        public RogueWorker(TaskCompletionSource<object> registered, string coordinator)
        {
            Receive<WorkerRegistered>(r => registered.TrySetResult(r));
            Receive<string>(_ => Context.ActorSelection(coordinator).Tell(new RegisterWorker("rogue", Workers: 1), Self));
        }

        public ITimerScheduler Timers { get; set; } = null!;

        protected override void PreStart() => Timers.StartPeriodicTimer("register", "register", TimeSpan.Zero, TimeSpan.FromMilliseconds(300));
    }

    private async Task WaitForLog(params string[] parts)
    {
        var deadline = DateTime.UtcNow + RefusalLimit;
        while (DateTime.UtcNow < deadline)
        {
            if (fixture.Coordinator.Output.Split('\n').Any(l => parts.All(p => l.Contains(p, StringComparison.Ordinal)))) return;
            await Task.Delay(200);
        }
        Assert.Fail($"no coordinator log line with {string.Join(" + ", parts.Select(p => $"'{p}'"))}:\n{fixture.Coordinator.Output}");
    }

    private async Task StillServes()
    {
        var status = await fixture.Status();
        static string Tail(RunningProcess p) => string.Join('\n', p.Output.Split('\n').TakeLast(25)) + p.Error;
        Assert.True(status.ExitCode == 0 && status.Output.Contains("workers 1\n", StringComparison.Ordinal),
            $"status: exit {status.ExitCode}: {status.Output}{status.Error}\ncoordinator:\n{Tail(fixture.Coordinator)}\nworker (exited: {fixture.Worker.Process.HasExited}):\n{Tail(fixture.Worker)}");
    }
}
