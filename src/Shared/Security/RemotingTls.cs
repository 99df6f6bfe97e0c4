using System.Net.Security;
using System.Security.Cryptography.X509Certificates;
using Akka.Actor.Setup;
using Akka.Configuration;
using Akka.Event;
using Akka.Remote.Transport.DotNetty;

namespace RnnCluster.Security;

/// <summary>
/// Which peers' roles a program accepts on Akka remoting, by direction: inbound (a peer connected
/// to this program's port) and outbound (this program connected to the peer's port).
/// </summary>
/// <remarks>
/// <list type="table">
/// <item><term>coordinator node</term><description>in: coordinator, worker, client (clients reach the receptionist here); out: all three</description></item>
/// <item><term>worker node</term><description>in: coordinator, worker; out: all three (predictions go straight to a client)</description></item>
/// <item><term>client</term><description>in: coordinator, worker; out: coordinator only (its contacts), so a worker certificate cannot pose as the coordinator</description></item>
/// </list>
/// Replies travel over the connection that is already open (Akka's passive connections), so a
/// client never needs to open one to a worker. Accepting a client's connection is not accepting
/// it as a member: cluster nodes check members' certificates separately (<see cref="MembershipGuard"/>).
/// </remarks>
public sealed record TlsPeerPolicy(IReadOnlySet<ClusterRole> Inbound, IReadOnlySet<ClusterRole> Outbound)
{
    public static TlsPeerPolicy For(ClusterRole program) => program switch
    {
        ClusterRole.Coordinator => new(Roles(ClusterRole.Coordinator, ClusterRole.Worker, ClusterRole.Client), Roles(ClusterRole.Coordinator, ClusterRole.Worker, ClusterRole.Client)),
        ClusterRole.Worker => new(Roles(ClusterRole.Coordinator, ClusterRole.Worker), Roles(ClusterRole.Coordinator, ClusterRole.Worker, ClusterRole.Client)),
        ClusterRole.Client => new(Roles(ClusterRole.Coordinator, ClusterRole.Worker), Roles(ClusterRole.Coordinator)),
        _ => throw new ArgumentOutOfRangeException(nameof(program)),
    };

    private static HashSet<ClusterRole> Roles(params ClusterRole[] roles) => [.. roles];
}

/// <summary>
/// Mutual TLS on Akka remoting (the DotNetty transport of Akka.NET 1.5.73): both ends present a
/// certificate; each accepts the other's only through <see cref="Validator"/> (trust pinned to
/// the cluster CA by <see cref="ClusterTrust"/>, the role checked against a
/// <see cref="TlsPeerPolicy"/>), passed in code with <see cref="DotNettySslSetup"/> so the system
/// store plays no part.
/// </summary>
public static class RemotingTls
{
    /// <summary>The transport settings that go with the setup: TLS on, validation on, both ends authenticated.</summary>
    public static Config Hocon(bool validateHostname) => ConfigurationFactory.ParseString($$"""
        akka.remote.dot-netty.tcp {
          enable-ssl = on
          ssl {
            suppress-validation = off
            require-mutual-authentication = on
            validate-certificate-hostname = {{(validateHostname ? "on" : "off")}}
          }
        }
        """);

    /// <summary>The setup for <see cref="Akka.Actor.BootstrapSetup"/>'s <c>And</c>: this identity's certificate and <see cref="Validator"/>.</summary>
    public static ActorSetupPair Setup(TlsIdentity identity, TlsPeerPolicy policy) =>
        new(new DotNettySslSetup(identity.Certificate, suppressValidation: false, requireMutualAuthentication: true,
            validateCertificateHostname: identity.ValidateHostname, customValidator: Validator(identity, policy)), new TlsIdentitySetup(identity, policy));

    /// <summary>
    /// Akka calls this in every handshake, on both sides. The peer string tells the direction: an
    /// Akka address (<c>akka.ssl.tcp://...</c>) for a connection this program opened, the socket
    /// address of the peer for one it accepted. The standard chain errors are ignored (the system
    /// store does not know the cluster CA); the name-mismatch error counts when hostname validation
    /// is on (outbound only, as in Akka). A refusal is logged as a warning naming the peer and the
    /// reason, and remembered in <see cref="TlsIdentity.LastRefusal"/>.
    /// </summary>
    public static CertificateValidationCallback Validator(TlsIdentity identity, TlsPeerPolicy policy) =>
        (certificate, _, peer, errors, log) =>
        {
            bool outbound = peer.Contains("://", StringComparison.Ordinal);
            var refusal = Refusal(identity, policy, certificate, outbound, errors);
            if (refusal is null) return true;
            var line = $"refused the TLS {(outbound ? "connection to" : "connection from")} {peer}: {refusal}";
            identity.LastRefusal = line;
            log.Warning("{0}", line);
            return false;
        };

    /// <summary>Why a peer's certificate is refused in this direction; null to accept it.</summary>
    public static string? Refusal(TlsIdentity identity, TlsPeerPolicy policy, X509Certificate2? certificate, bool outbound, SslPolicyErrors errors)
    {
        var verdict = identity.Trust.Check(certificate);
        if (!verdict.Accepted) return verdict.Refusal;
        var role = verdict.Role!.Value;
        var allowed = outbound ? policy.Outbound : policy.Inbound;
        if (!allowed.Contains(role))
            return $"a {ClusterRoles.Name(role)} certificate ({ClusterTrust.Describe(certificate!)}) may not {(outbound ? "serve" : "connect to")} a {ClusterRoles.Name(identity.Role)} " +
                   $"(accepted here: {string.Join(", ", allowed.Order().Select(ClusterRoles.Name))})";
        if (outbound && identity.ValidateHostname && errors.HasFlag(SslPolicyErrors.RemoteCertificateNameMismatch))
            return $"the certificate {ClusterTrust.Describe(certificate!)} does not name the host connected to (hostname validation is on)";
        return null;
    }
}

/// <summary>The TLS identity and policy of an actor system, for the parts that check members (<see cref="MemberVerification"/>).</summary>
public sealed class TlsIdentitySetup(TlsIdentity identity, TlsPeerPolicy policy) : Setup
{
    public TlsIdentity Identity { get; } = identity;

    public TlsPeerPolicy Policy { get; } = policy;
}

/// <summary>Two setups that travel together.</summary>
public readonly record struct ActorSetupPair(DotNettySslSetup Transport, TlsIdentitySetup Identity);
