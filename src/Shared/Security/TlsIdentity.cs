using System.Security.Cryptography.X509Certificates;

namespace RnnCluster.Security;

/// <summary>
/// A program's TLS identity, loaded from its TLS folder (<c>--tls-dir</c> /
/// <see cref="DirectoryVariable"/>; see <see cref="TlsFiles"/>): its certificate with the private
/// key, the role that certificate names, and the trust pinned to the cluster CA in the same folder.
/// Loading checks the program's own certificate the way its peers will (issued by that CA, valid
/// now, one role), so a wrong folder fails at start with one line rather than as refused handshakes.
/// </summary>
public sealed class TlsIdentity
{
    public const string DirectoryVariable = "RNNCLUSTER_TLS_DIR";
    public const string ValidateHostnameVariable = "RNNCLUSTER_TLS_VALIDATE_HOSTNAME";

    private string? _lastRefusal;

    private TlsIdentity(string directory, X509Certificate2 certificate, ClusterRole role, ClusterTrust trust, bool validateHostname)
    {
        Directory = directory;
        Certificate = certificate;
        Role = role;
        Trust = trust;
        ValidateHostname = validateHostname;
    }

    public string Directory { get; }

    /// <summary>This program's certificate, with its private key.</summary>
    public X509Certificate2 Certificate { get; }

    public ClusterRole Role { get; }

    public ClusterTrust Trust { get; }

    /// <summary>Outbound connections also check that the server's certificate names the host connected to (its subject alternative names).</summary>
    public bool ValidateHostname { get; }

    /// <summary>The last reason a peer was refused (for the one-line error of a client that got no answer); null when none was.</summary>
    public string? LastRefusal
    {
        get => Volatile.Read(ref _lastRefusal);
        internal set => Volatile.Write(ref _lastRefusal, value);
    }

    public static TlsIdentity Load(string directory, bool validateHostname = false, DateTime? now = null)
    {
        if (!System.IO.Directory.Exists(directory))
            throw new CertificateException($"TLS folder '{directory}' does not exist (make one with 'rnncluster certs node|client ... --out {directory}')");
        var authority = TlsFiles.ReadCertificate(Path.Combine(directory, TlsFiles.Authority));
        var certificatePath = Path.Combine(directory, TlsFiles.Certificate);
        var certificate = TlsFiles.ReadCertificateWithKey(certificatePath, Path.Combine(directory, TlsFiles.Key));
        var trust = new ClusterTrust(authority, TlsFiles.ReadRevoked(directory));
        var verdict = trust.Check(certificate, now);
        if (!verdict.Accepted) throw new CertificateException($"{certificatePath}: {verdict.Refusal}");
        return new TlsIdentity(directory, certificate, verdict.Role!.Value, trust, validateHostname);
    }

    /// <summary>Fails unless this identity's certificate is for <paramref name="role"/> (what <paramref name="program"/> needs).</summary>
    public void Require(ClusterRole role, string program)
    {
        if (Role == role) return;
        var how = role == ClusterRole.Client ? "rnncluster certs client NAME" : $"rnncluster certs node NAME --role {ClusterRoles.Name(role)}";
        throw new CertificateException(
            $"{Path.Combine(Directory, TlsFiles.Certificate)} is a {ClusterRoles.Name(Role)} certificate ({ClusterTrust.Describe(Certificate)}); {program} needs a {ClusterRoles.Name(role)} certificate ({how})");
    }

    /// <summary>Reads <see cref="ValidateHostnameVariable"/>: on/true/1 or off/false/0 (default off).</summary>
    public static bool ValidateHostnameFromEnvironment(Func<string, string?>? environment = null)
    {
        var text = (environment ?? Environment.GetEnvironmentVariable)(ValidateHostnameVariable)?.Trim().ToLowerInvariant();
        return text switch
        {
            null or "" or "off" or "false" or "0" => false,
            "on" or "true" or "1" => true,
            _ => throw new CertificateException($"{ValidateHostnameVariable} must be on or off, got '{text}'"),
        };
    }
}
