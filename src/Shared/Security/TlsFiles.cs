using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace RnnCluster.Security;

/// <summary>
/// The files of a TLS folder (the names Kubernetes gives a TLS Secret's keys, so a Secret mounts
/// as one): <see cref="Authority"/> (the cluster CA's certificate), <see cref="Certificate"/> and
/// <see cref="Key"/> (this program's). A CA folder holds <see cref="Authority"/> and
/// <see cref="AuthorityKey"/>. Certificates are PEM; keys are unencrypted PKCS#8 PEM, created
/// with mode 0600 (owner read and write only).
/// </summary>
public static class TlsFiles
{
    public const string Authority = "ca.crt";
    public const string AuthorityKey = "ca.key";
    public const string Certificate = "tls.crt";
    public const string Key = "tls.key";

    /// <summary>Optional: serial numbers (hex, one a line, '#' comments) this program refuses although the CA signed them.</summary>
    public const string Revoked = "revoked.txt";

    private const UnixFileMode Private = UnixFileMode.UserRead | UnixFileMode.UserWrite;

    public static void WriteCertificate(string path, X509Certificate2 certificate) =>
        Replace(path, certificate.ExportCertificatePem() + "\n", UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead);

    public static void WriteKey(string path, X509Certificate2 certificate)
    {
        using var key = certificate.GetECDsaPrivateKey() ?? throw new CertificateException($"{path}: the certificate has no ECDSA private key to write");
        Replace(path, key.ExportPkcs8PrivateKeyPem() + "\n", Private);
    }

    /// <summary>A PEM certificate; errors name the file.</summary>
    public static X509Certificate2 ReadCertificate(string path)
    {
        if (!File.Exists(path)) throw new CertificateException($"{path} does not exist");
        try
        {
            return X509Certificate2.CreateFromPem(File.ReadAllText(path));
        }
        catch (CryptographicException e)
        {
            throw new CertificateException($"{path} is not a PEM certificate: {e.Message}", e);
        }
    }

    /// <summary>
    /// A PEM certificate with its PEM private key, re-imported through PKCS#12 so the key is a
    /// regular (not ephemeral) one that SslStream accepts on every platform.
    /// </summary>
    public static X509Certificate2 ReadCertificateWithKey(string certificatePath, string keyPath)
    {
        foreach (var p in new[] { certificatePath, keyPath })
            if (!File.Exists(p)) throw new CertificateException($"{p} does not exist");
        try
        {
            using var pem = X509Certificate2.CreateFromPemFile(certificatePath, keyPath);
            return X509CertificateLoader.LoadPkcs12(pem.Export(X509ContentType.Pkcs12), password: null, X509KeyStorageFlags.Exportable);
        }
        catch (CryptographicException e)
        {
            throw new CertificateException($"{certificatePath} with {keyPath}: {e.Message} (does the key belong to the certificate?)", e);
        }
    }

    /// <summary>Serial numbers listed in a folder's <see cref="Revoked"/> file (upper-case hex); empty when there is none.</summary>
    public static IReadOnlySet<string> ReadRevoked(string directory)
    {
        var path = Path.Combine(directory, Revoked);
        if (!File.Exists(path)) return new HashSet<string>();
        return File.ReadAllLines(path)
            .Select(l => l.Split('#')[0].Trim().Replace(":", "").ToUpperInvariant())
            .Where(l => l.Length > 0)
            .ToHashSet();
    }

    /// <summary>Writes through a temporary file in the same folder and renames it over <paramref name="path"/>.</summary>
    private static void Replace(string path, string text, UnixFileMode mode)
    {
        var folder = Path.GetDirectoryName(Path.GetFullPath(path))!;
        Directory.CreateDirectory(folder);
        var temporary = Path.Combine(folder, $".{Path.GetFileName(path)}.{Guid.NewGuid():N}.tmp");
        var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write };
        if (!OperatingSystem.IsWindows()) options.UnixCreateMode = mode;
        try
        {
            using (var stream = new FileStream(temporary, options))
            using (var writer = new StreamWriter(stream))
                writer.Write(text);
            File.Move(temporary, path, overwrite: true);
        }
        finally
        {
            File.Delete(temporary);
        }
    }
}
