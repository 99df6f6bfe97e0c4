using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace RnnCluster.Security;

/// <summary>
/// The cluster's own certificate authority and the certificates it issues, made with .NET's
/// <c>System.Security.Cryptography.X509Certificates</c> alone (no openssl). Keys are ECDSA P-256
/// (fast handshakes, small files), signatures SHA-256.
/// </summary>
/// <remarks>
/// Lifetimes: the authority <see cref="DefaultAuthorityLifetime"/> (5 years), a node or client
/// certificate <see cref="DefaultLifetime"/> (90 days): short enough that re-issuing is the way to
/// rotate and, together with a new authority, to revoke. Every certificate starts 5 minutes in the
/// past, so clocks a little apart still agree it is valid.
/// </remarks>
public static class CertificateAuthority
{
    public static readonly TimeSpan DefaultAuthorityLifetime = TimeSpan.FromDays(5 * 365);
    public static readonly TimeSpan DefaultLifetime = TimeSpan.FromDays(90);
    private static readonly TimeSpan ClockSkew = TimeSpan.FromMinutes(5);

    /// <summary>A self-signed authority (basic constraints CA, path length 0: it signs only end certificates).</summary>
    public static X509Certificate2 CreateAuthority(string name, TimeSpan? lifetime = null, DateTimeOffset? now = null)
    {
        CheckName(name);
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest(new X500DistinguishedName($"CN={name}, O=rnncluster"), key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(certificateAuthority: true, hasPathLengthConstraint: true, pathLengthConstraint: 0, critical: true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, critical: true));
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, critical: false));
        var start = (now ?? DateTimeOffset.UtcNow) - ClockSkew;
        return request.CreateSelfSigned(start, start + ClockSkew + (lifetime ?? DefaultAuthorityLifetime));
    }

    /// <summary>
    /// A certificate for <paramref name="name"/> in <paramref name="role"/>, signed by
    /// <paramref name="authority"/> (which must hold its private key). <paramref name="hosts"/>
    /// become subject alternative names (IP addresses or DNS names) for hostname validation; none:
    /// the name itself as a DNS name.
    /// </summary>
    public static X509Certificate2 Issue(X509Certificate2 authority, string name, ClusterRole role, IReadOnlyList<string> hosts,
        TimeSpan? lifetime = null, DateTimeOffset? now = null)
    {
        ArgumentNullException.ThrowIfNull(authority);
        CheckName(name);
        using var caKey = authority.GetECDsaPrivateKey() ?? throw new CertificateException("the authority's certificate has no ECDSA private key");
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest(
            new X500DistinguishedName($"CN={name}, OU={ClusterRoles.Name(role)}, O=rnncluster"), key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(certificateAuthority: false, hasPathLengthConstraint: false, pathLengthConstraint: 0, critical: true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature | X509KeyUsageFlags.KeyAgreement, critical: true));
        request.CertificateExtensions.Add(ClusterRoles.Usage(role));
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, critical: false));
        request.CertificateExtensions.Add(X509AuthorityKeyIdentifierExtension.CreateFromCertificate(authority, includeKeyIdentifier: true, includeIssuerAndSerial: false));
        var names = new SubjectAlternativeNameBuilder();
        foreach (var host in hosts.Count > 0 ? hosts : [name])
        {
            if (IPAddress.TryParse(host, out var ip)) names.AddIpAddress(ip);
            else names.AddDnsName(host);
        }
        request.CertificateExtensions.Add(names.Build());

        var start = (now ?? DateTimeOffset.UtcNow) - ClockSkew;
        var end = start + ClockSkew + (lifetime ?? DefaultLifetime);
        if (end > authority.NotAfter) end = authority.NotAfter;
        var serial = RandomNumberGenerator.GetBytes(16);
        serial[0] &= 0x7f; // a positive serial number
        using var issued = request.Create(authority.SubjectName, X509SignatureGenerator.CreateForECDsa(caKey), start, end, serial);
        return issued.CopyWithPrivateKey(key);
    }

    private static void CheckName(string name)
    {
        if (string.IsNullOrWhiteSpace(name) || name.Any(c => c is ',' or '=' or '+' or '"' or '\\' or '<' or '>' or ';' || char.IsControl(c)))
            throw new CertificateException($"'{name}' is not a usable certificate name (letters, digits, '-', '.', '_' and spaces)");
    }
}
