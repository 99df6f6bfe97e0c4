using System.Net.Security;
using System.Net.Sockets;
using System.Security.Cryptography.X509Certificates;
using Akka.Actor;

namespace RnnCluster.Security;

/// <summary>
/// Why a client got no answer from its contacts, when TLS is the reason: this client refused the
/// coordinator's certificate, the coordinator refused this client's, or the coordinator speaks
/// TLS and this client does not. Akka only sees a connection that never associates; these
/// checks name the cause for the client's one-line error.
/// </summary>
public static class ConnectionDiagnosis
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(5);

    /// <summary>A short reason, or null when TLS does not explain it.</summary>
    public static async Task<string?> WhyNoAnswerAsync(ActorSystem system, IReadOnlyList<Address> contacts)
    {
        var identity = MemberVerification.For(system).Identity;
        string? reason = null;
        foreach (var contact in contacts)
        {
            if (identity?.LastRefusal is not null || contact.Host is null || contact.Port is null) break;
            reason = identity is null
                ? await PlainClientMeetsTlsAsync(contact.Host, contact.Port.Value)
                : await RefusedByServerAsync(contact.Host, contact.Port.Value, identity);
            if (reason is not null) break;
        }
        // What this client's own transport refused is the most precise reason there is.
        return identity?.LastRefusal ?? reason;
    }

    /// <summary>A client without TLS: does the contact's port answer a TLS handshake with a certificate?</summary>
    private static async Task<string?> PlainClientMeetsTlsAsync(string host, int port)
    {
        X509Certificate? served = null;
        try
        {
            using var cancel = new CancellationTokenSource(Timeout);
            using var tcp = new TcpClient();
            await tcp.ConnectAsync(host, port, cancel.Token);
            await using var tls = new SslStream(tcp.GetStream());
            await tls.AuthenticateAsClientAsync(new SslClientAuthenticationOptions
            {
                TargetHost = host,
                RemoteCertificateValidationCallback = (_, certificate, _, _) =>
                {
                    served = certificate;
                    return false; // only looking: never talk to it
                },
            }, cancel.Token);
        }
        catch (Exception e) when (e is IOException or SocketException or OperationCanceledException or System.Security.Authentication.AuthenticationException)
        {
            // expected: the handshake is abandoned on purpose, or the port speaks no TLS
        }
        return served is null
            ? null
            : $"{host}:{port} speaks TLS and this client does not: give --tls-dir (or {TlsIdentity.DirectoryVariable}) with a client certificate of the cluster's CA";
    }

    /// <summary>A TLS client: does the contact accept this client's certificate?</summary>
    private static async Task<string?> RefusedByServerAsync(string host, int port, TlsIdentity identity)
    {
        var verdict = await TlsProbe.CheckAsync(host, port, identity, Timeout);
        if (!verdict.Accepted) return verdict.Refusal;
        if (verdict.Role != ClusterRole.Coordinator)
            return $"{host}:{port} serves a {ClusterRoles.Name(verdict.Role!.Value)} certificate, not a coordinator's";
        // TLS 1.3: the server judges the client's certificate after the client's side of the
        // handshake is done, and says no with an alert on the next read.
        var alert = await TlsProbe.ReadAfterHandshakeAsync(host, port, identity, Timeout);
        return alert is null ? null : $"{host}:{port} refused this client's certificate ({ClusterTrust.Describe(identity.Certificate)}): {alert}";
    }
}
