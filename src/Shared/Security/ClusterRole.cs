using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace RnnCluster.Security;

/// <summary>What a certificate's holder may be in a cluster; recorded in the certificate itself.</summary>
/// <remarks>
/// The rule, enforced where each role is accepted:
/// <list type="bullet">
/// <item><see cref="Coordinator"/>: may run a coordinator node (role <c>coordinator</c>), the only
/// node a client takes as its contact.</item>
/// <item><see cref="Worker"/>: may run a worker node (role <c>worker</c>) and register its
/// workers; it cannot act as a coordinator (a member with role <c>coordinator</c> must hold a
/// coordinator certificate, and a client refuses a contact that does not).</item>
/// <item><see cref="Client"/>: may submit and follow jobs through the coordinator's receptionist;
/// it cannot be a cluster member (cluster nodes refuse a member whose certificate is a client's,
/// and the coordinator registers no worker from it), and worker nodes refuse its connections.</item>
/// </list>
/// </remarks>
public enum ClusterRole
{
    Coordinator,
    Worker,
    Client,
}

/// <summary>
/// How a role is written into a certificate: an extended key usage of this project's own, under
/// the UUID-derived arc <see cref="Arc"/> (X.667: <c>2.25.&lt;UUID as an integer&gt;</c>, an
/// object identifier anyone may mint without registering), one per role. Every certificate also
/// carries serverAuth and clientAuth (a node and a client each accept connections and open them)
/// and, for people reading it, the role as the subject's OU. Only the extended key usage counts.
/// </summary>
public static class ClusterRoles
{
    /// <summary>The project's arc: UUID c0032661-d109-455c-83ac-ca358415824a.</summary>
    public const string Arc = "2.25.255228130562669729662447008291136832074";

    public const string CoordinatorOid = Arc + ".1";
    public const string WorkerOid = Arc + ".2";
    public const string ClientOid = Arc + ".3";

    public const string ServerAuthOid = "1.3.6.1.5.5.7.3.1";
    public const string ClientAuthOid = "1.3.6.1.5.5.7.3.2";

    public static string Name(ClusterRole role) => role switch
    {
        ClusterRole.Coordinator => "coordinator",
        ClusterRole.Worker => "worker",
        ClusterRole.Client => "client",
        _ => throw new ArgumentOutOfRangeException(nameof(role)),
    };

    public static string Oid(ClusterRole role) => role switch
    {
        ClusterRole.Coordinator => CoordinatorOid,
        ClusterRole.Worker => WorkerOid,
        ClusterRole.Client => ClientOid,
        _ => throw new ArgumentOutOfRangeException(nameof(role)),
    };

    public static ClusterRole Parse(string text) => text switch
    {
        "coordinator" => ClusterRole.Coordinator,
        "worker" => ClusterRole.Worker,
        "client" => ClusterRole.Client,
        _ => throw new CertificateException($"unknown role '{text}' (expected coordinator, worker or client)"),
    };

    /// <summary>The role a certificate's extended key usage names; null when it names none (or more than one).</summary>
    public static ClusterRole? Of(X509Certificate2 certificate)
    {
        ArgumentNullException.ThrowIfNull(certificate);
        ClusterRole? found = null;
        foreach (var extension in certificate.Extensions.OfType<X509EnhancedKeyUsageExtension>())
            foreach (var oid in extension.EnhancedKeyUsages)
            {
                ClusterRole? role = oid.Value switch
                {
                    CoordinatorOid => ClusterRole.Coordinator,
                    WorkerOid => ClusterRole.Worker,
                    ClientOid => ClusterRole.Client,
                    _ => null,
                };
                if (role is null) continue;
                if (found is not null && found != role) return null;
                found = role;
            }
        return found;
    }

    /// <summary>The extended key usages of a certificate for <paramref name="role"/>.</summary>
    internal static X509EnhancedKeyUsageExtension Usage(ClusterRole role) =>
        new([new Oid(ServerAuthOid), new Oid(ClientAuthOid), new Oid(Oid(role))], critical: false);
}

/// <summary>A certificate, key or TLS folder cannot be used; the message names the file and the reason.</summary>
public sealed class CertificateException(string message, Exception? inner = null) : Exception(message, inner);
