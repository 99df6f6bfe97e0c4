using System.Security.Cryptography.X509Certificates;

namespace RnnCluster.Security;

/// <summary>
/// Trust pinned to the cluster's own CA: a peer's certificate is accepted when it chains to
/// <see cref="Authority"/> alone (not the system store; a self-managed cluster needs no change to
/// the machine), is within its validity, carries exactly one rnncluster role, and is not listed
/// as revoked. <see cref="Check"/> gives the role or the reason for refusing, as one line.
/// </summary>
public sealed class ClusterTrust
{
    private readonly IReadOnlySet<string> _revoked;

    public ClusterTrust(X509Certificate2 authority, IReadOnlySet<string>? revokedSerials = null)
    {
        Authority = authority;
        _revoked = revokedSerials ?? new HashSet<string>();
    }

    public X509Certificate2 Authority { get; }

    /// <summary>The verdict on one certificate: its role when accepted, else the reason.</summary>
    public readonly record struct Verdict(ClusterRole? Role, string? Refusal)
    {
        public bool Accepted => Refusal is null;
    }

    public Verdict Check(X509Certificate2? certificate, DateTime? now = null)
    {
        if (certificate is null) return Refuse("it presented no certificate");
        var at = now ?? DateTime.Now;
        var who = Describe(certificate);
        if (at > certificate.NotAfter) return Refuse($"the certificate {who} expired on {certificate.NotAfter.ToUniversalTime():yyyy-MM-dd HH:mm} UTC");
        if (at < certificate.NotBefore) return Refuse($"the certificate {who} is not valid before {certificate.NotBefore.ToUniversalTime():yyyy-MM-dd HH:mm} UTC");

        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.Add(Authority);
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        chain.ChainPolicy.VerificationTime = at;
        chain.ChainPolicy.VerificationTimeIgnored = false;
        bool built = chain.Build(certificate);
        var root = chain.ChainElements.Count > 0 ? chain.ChainElements[^1].Certificate : null;
        if (!built || root is null || !root.RawDataMemory.Span.SequenceEqual(Authority.RawDataMemory.Span) || chain.ChainElements.Count != 2)
        {
            var status = string.Join(", ", chain.ChainStatus.Select(s => s.Status).Where(s => s != X509ChainStatusFlags.NoError).Distinct());
            return Refuse($"the certificate {who} (issuer {certificate.GetNameInfo(X509NameType.SimpleName, forIssuer: true)}) is not issued by this cluster's CA ({Authority.GetNameInfo(X509NameType.SimpleName, false)}){(status.Length > 0 ? $": {status}" : "")}");
        }
        if (_revoked.Contains(certificate.SerialNumber.ToUpperInvariant()))
            return Refuse($"the certificate {who} is revoked (serial {certificate.SerialNumber} is listed in {TlsFiles.Revoked})");
        if (ClusterRoles.Of(certificate) is not { } role)
            return Refuse($"the certificate {who} carries no rnncluster role");
        return new Verdict(role, null);
    }

    /// <summary><c>'CN' (role)</c>, for messages.</summary>
    public static string Describe(X509Certificate2 certificate) =>
        $"'{certificate.GetNameInfo(X509NameType.SimpleName, forIssuer: false)}'" +
        (ClusterRoles.Of(certificate) is { } role ? $" ({ClusterRoles.Name(role)})" : "");

    private static Verdict Refuse(string reason) => new(null, reason);
}
