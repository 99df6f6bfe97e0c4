using System.Collections.Concurrent;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Cryptography.X509Certificates;
using Akka.Actor;
using Akka.Cluster;
using Akka.Event;
using RnnCluster.Hosting;

namespace RnnCluster.Security;

/// <summary>
/// Checks which certificate a cluster member holds, where a member's role is accepted (the
/// <see cref="MembershipGuard"/> when a node joins, the coordinator when a worker registers).
/// </summary>
/// <remarks>
/// Akka's transport does not tell which certificate came with which member's address: a joining
/// node connects from an ephemeral port and names its own address inside the Akka handshake. So
/// this opens a TLS connection of its own to the address the member announced, presenting this
/// node's certificate, and checks the certificate the member's transport serves there: a member
/// with role <c>coordinator</c> must serve a coordinator certificate, one with role <c>worker</c>
/// a worker certificate. Everything the cluster sends a member goes to that address, so what
/// listens there is what counts. The verdict is kept per member incarnation (UID) in
/// <see cref="Verify(UniqueAddress, ClusterRole)"/>, per address in <see cref="Verify(Address, ClusterRole)"/>.
/// Without TLS every member is accepted.
/// </remarks>
public sealed class MemberVerification : IExtension
{
    public static readonly TimeSpan ProbeTimeout = TimeSpan.FromSeconds(10);

    private readonly ConcurrentDictionary<(string Address, ClusterRole Role), Lazy<Task<ClusterTrust.Verdict>>> _verdicts = new();
    private readonly ILoggingAdapter _log;

    public MemberVerification(ExtendedActorSystem system)
    {
        _log = Logging.GetLogger(system, typeof(MemberVerification));
        var setup = system.Settings.Setup.Get<TlsIdentitySetup>();
        Identity = setup.HasValue ? setup.Value.Identity : null;
    }

    public static MemberVerification For(ActorSystem system) => system.WithExtension<MemberVerification, MemberVerificationProvider>();

    /// <summary>This node's TLS identity; null without TLS.</summary>
    public TlsIdentity? Identity { get; }

    public bool Enabled => Identity is not null;

    /// <summary>The verdict on the member listening at <paramref name="address"/> in <paramref name="role"/> (accepted at once without TLS, or for a local address).</summary>
    public Task<ClusterTrust.Verdict> Verify(Address address, ClusterRole role)
    {
        if (Identity is null || address.Host is null || address.Port is null) return Task.FromResult(new ClusterTrust.Verdict(role, null));
        return _verdicts.GetOrAdd((address.ToString(), role), key => new Lazy<Task<ClusterTrust.Verdict>>(() => Probe(address.Host, address.Port.Value, role))).Value;
    }

    public Task<ClusterTrust.Verdict> Verify(UniqueAddress member, ClusterRole role) => Verify(member.Address, role);

    /// <summary>Starts the <see cref="MembershipGuard"/> on a cluster node with TLS; a no-op without.</summary>
    public static void StartGuardIfEnabled(ActorSystem system)
    {
        if (!For(system).Enabled) return;
        system.ActorOf(Props.Create(() => new MembershipGuard()), MembershipGuard.Name);
    }

    /// <summary>Forgets the verdict on an address (a member that left; a new one may listen there later).</summary>
    public void Forget(Address address)
    {
        foreach (var key in _verdicts.Keys.Where(k => k.Address == address.ToString())) _verdicts.TryRemove(key, out _);
    }

    private async Task<ClusterTrust.Verdict> Probe(string host, int port, ClusterRole role)
    {
        var identity = Identity!;
        var verdict = await TlsProbe.CheckAsync(host, port, identity, ProbeTimeout);
        if (!verdict.Accepted) return verdict;
        if (verdict.Role != role)
            return new ClusterTrust.Verdict(null,
                $"the node at {host}:{port} joined as a {ClusterRoles.Name(role)} but serves a {ClusterRoles.Name(verdict.Role!.Value)} certificate");
        _log.Debug("member at {0}:{1} serves a {2} certificate", host, port, ClusterRoles.Name(role));
        return verdict;
    }
}

public sealed class MemberVerificationProvider : ExtensionIdProvider<MemberVerification>
{
    public override MemberVerification CreateExtension(ExtendedActorSystem system) => new(system);
}

/// <summary>One TLS handshake with a listening rnncluster program, presenting this program's certificate.</summary>
public static class TlsProbe
{
    /// <summary>The verdict on the certificate served at <paramref name="host"/>:<paramref name="port"/>, or why none was had.</summary>
    public static async Task<ClusterTrust.Verdict> CheckAsync(string host, int port, TlsIdentity identity, TimeSpan timeout) =>
        (await RunAsync(host, port, identity, timeout, readAfter: false)).Verdict;

    /// <summary>
    /// After a handshake this side accepted: what the server said on the first read (a TLS alert,
    /// a closed connection), or null when it said nothing within <paramref name="timeout"/> (it
    /// accepted this program's certificate and waits for the Akka handshake).
    /// </summary>
    public static async Task<string?> ReadAfterHandshakeAsync(string host, int port, TlsIdentity identity, TimeSpan timeout) =>
        (await RunAsync(host, port, identity, timeout, readAfter: true)).AfterHandshake;

    private static async Task<(ClusterTrust.Verdict Verdict, string? AfterHandshake)> RunAsync(string host, int port, TlsIdentity identity, TimeSpan timeout, bool readAfter)
    {
        using var cancel = new CancellationTokenSource(timeout);
        ClusterTrust.Verdict? seen = null;
        try
        {
            using var tcp = new TcpClient();
            await tcp.ConnectAsync(host, port, cancel.Token);
            await using var tls = new SslStream(tcp.GetStream(), leaveInnerStreamOpen: false);
            await tls.AuthenticateAsClientAsync(new SslClientAuthenticationOptions
            {
                TargetHost = host,
                ClientCertificates = new X509CertificateCollection { identity.Certificate },
                CertificateRevocationCheckMode = X509RevocationMode.NoCheck,
                RemoteCertificateValidationCallback = (_, certificate, _, _) =>
                {
                    seen = identity.Trust.Check(certificate as X509Certificate2 ?? (certificate is null ? null : new X509Certificate2(certificate)));
                    return seen.Value.Accepted;
                },
            }, cancel.Token);
            var verdict = seen ?? new ClusterTrust.Verdict(null, $"{host}:{port} served no certificate");
            if (!readAfter || !verdict.Accepted) return (verdict, null);
            try
            {
                var read = await tls.ReadAsync(new byte[1], cancel.Token);
                return (verdict, read == 0 ? "it closed the connection after the handshake" : null);
            }
            catch (OperationCanceledException)
            {
                return (verdict, null);
            }
            catch (Exception e) when (e is IOException or System.Security.Authentication.AuthenticationException)
            {
                return (verdict, e.InnerException?.Message ?? e.Message);
            }
        }
        catch (Exception e) when (e is IOException or SocketException or OperationCanceledException or System.Security.Authentication.AuthenticationException)
        {
            if (seen is { Accepted: false } refused) return (refused, null);
            return (new ClusterTrust.Verdict(null, $"no TLS handshake with {host}:{port}: {(e is OperationCanceledException ? $"no answer within {timeout.TotalSeconds:0} s" : e.Message)}"), null);
        }
    }
}

/// <summary>
/// On every cluster node with TLS: checks each member that joins (<see cref="MemberVerification"/>)
/// and downs one whose certificate does not match its role, logging the reason; so a client
/// certificate cannot join as a worker and a worker certificate cannot join as a coordinator.
/// </summary>
public sealed class MembershipGuard : ReceiveActor
{
    public const string Name = "rnncluster-membership-guard";

    private sealed record Checked(Member Member, ClusterTrust.Verdict Verdict) : INoSerializationVerificationNeeded;

    private readonly ILoggingAdapter _log = Context.GetLogger();
    private readonly Akka.Cluster.Cluster _cluster = Akka.Cluster.Cluster.Get(Context.System);
    private readonly MemberVerification _verification = MemberVerification.For(Context.System);
    private readonly HashSet<UniqueAddress> _seen = [];

    public MembershipGuard()
    {
        Receive<ClusterEvent.IMemberEvent>(e =>
        {
            if (e is ClusterEvent.MemberRemoved removed)
            {
                _seen.Remove(removed.Member.UniqueAddress);
                _verification.Forget(removed.Member.Address);
                return;
            }
            var member = e.Member;
            if (member.UniqueAddress.Equals(_cluster.SelfUniqueAddress) || !_seen.Add(member.UniqueAddress)) return;
            if (RoleOf(member) is not { } role)
            {
                Self.Tell(new Checked(member, new ClusterTrust.Verdict(null, $"it has neither role {AkkaCluster.CoordinatorRole} nor {AkkaCluster.WorkerRole}")));
                return;
            }
            _verification.Verify(member.UniqueAddress, role).PipeTo(Self, success: v => new Checked(member, v),
                failure: ex => new Checked(member, new ClusterTrust.Verdict(null, ex.Message)));
        });
        Receive<Checked>(c =>
        {
            if (c.Verdict.Accepted) return;
            _log.Error("refused member {0} ({1}): {2}; downing it", c.Member.Address, string.Join(",", c.Member.Roles), c.Verdict.Refusal);
            _cluster.Down(c.Member.Address);
        });
    }

    protected override void PreStart() =>
        _cluster.Subscribe(Self, ClusterEvent.SubscriptionInitialStateMode.InitialStateAsEvents, typeof(ClusterEvent.IMemberEvent));

    protected override void PostStop() => _cluster.Unsubscribe(Self);

    private static ClusterRole? RoleOf(Member member) =>
        member.HasRole(AkkaCluster.CoordinatorRole) ? ClusterRole.Coordinator
        : member.HasRole(AkkaCluster.WorkerRole) ? ClusterRole.Worker
        : null;
}
