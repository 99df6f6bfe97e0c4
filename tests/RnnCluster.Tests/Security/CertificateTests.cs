using System.Security.Cryptography.X509Certificates;
using RnnCluster.Coordinator.Cli;
using RnnCluster.Security;
using Xunit;

namespace RnnCluster.Tests.Security;

/// <summary>
/// The certificate tooling and the trust it is checked against: roles survive the round trip
/// through files, and a certificate from another CA, an expired one, one without a role or a
/// revoked one is refused with a reason naming it.
/// </summary>
public sealed class CertificateTests : IDisposable
{
    private readonly DirectoryInfo _dir = Directory.CreateTempSubdirectory("rnncluster-certs-");

    public void Dispose() => _dir.Delete(recursive: true);

    private string In(params string[] parts) => Path.Combine([_dir.FullName, .. parts]);

    /// <summary><c>rnncluster ARGS</c> through the program's own parser: exit code, output and error.</summary>
    private static async Task<(int Code, string Out, string Err)> Rnncluster(params string[] args)
    {
        var (output, error) = (new StringWriter(), new StringWriter());
        int code = await RnnCluster.Coordinator.Program.CreateProgram().RunAsync(args, output, error);
        return (code, output.ToString(), error.ToString());
    }

    [Theory]
    [InlineData(ClusterRole.Coordinator)]
    [InlineData(ClusterRole.Worker)]
    [InlineData(ClusterRole.Client)]
    public void An_issued_certificate_names_its_role_and_is_trusted_by_its_ca(ClusterRole role)
    {
        using var ca = CertificateAuthority.CreateAuthority("test CA");
        using var issued = CertificateAuthority.Issue(ca, "n1", role, ["127.0.0.1", "node-1.example"]);
        Assert.Equal(role, ClusterRoles.Of(issued));
        var usages = issued.Extensions.OfType<X509EnhancedKeyUsageExtension>().Single().EnhancedKeyUsages.Cast<System.Security.Cryptography.Oid>().Select(o => o.Value).ToList();
        Assert.Contains(ClusterRoles.ServerAuthOid, usages);
        Assert.Contains(ClusterRoles.ClientAuthOid, usages);
        Assert.Contains($"OU={ClusterRoles.Name(role)}", issued.Subject);
        var verdict = new ClusterTrust(ca).Check(issued);
        Assert.True(verdict.Accepted, verdict.Refusal);
        Assert.Equal(role, verdict.Role);
        Assert.InRange((issued.NotAfter - DateTime.Now).TotalDays, 89, 91);
    }

    [Fact]
    public void A_certificate_of_another_ca_is_refused_naming_both()
    {
        using var ours = CertificateAuthority.CreateAuthority("our CA");
        using var theirs = CertificateAuthority.CreateAuthority("their CA");
        using var stranger = CertificateAuthority.Issue(theirs, "mallory", ClusterRole.Client, []);
        var verdict = new ClusterTrust(ours).Check(stranger);
        Assert.False(verdict.Accepted);
        Assert.StartsWith("the certificate 'mallory' (client) (issuer their CA) is not issued by this cluster's CA (our CA)", verdict.Refusal);
    }

    [Fact]
    public void A_ca_with_the_same_name_but_another_key_is_not_ours()
    {
        using var ours = CertificateAuthority.CreateAuthority("rnncluster CA");
        using var lookalike = CertificateAuthority.CreateAuthority("rnncluster CA");
        using var forged = CertificateAuthority.Issue(lookalike, "w9", ClusterRole.Worker, []);
        Assert.Contains("is not issued by this cluster's CA", new ClusterTrust(ours).Check(forged).Refusal);
    }

    [Fact]
    public void Expired_not_yet_valid_roleless_revoked_and_missing_certificates_are_refused()
    {
        using var ca = CertificateAuthority.CreateAuthority("test CA");
        var trust = new ClusterTrust(ca);
        using var expired = CertificateAuthority.Issue(ca, "old", ClusterRole.Client, [], TimeSpan.FromDays(1), DateTimeOffset.UtcNow.AddDays(-3));
        Assert.StartsWith("the certificate 'old' (client) expired on ", trust.Check(expired).Refusal);
        using var future = CertificateAuthority.Issue(ca, "soon", ClusterRole.Client, [], TimeSpan.FromDays(10), DateTimeOffset.UtcNow.AddDays(3));
        Assert.StartsWith("the certificate 'soon' (client) is not valid before ", trust.Check(future).Refusal);
        Assert.Equal("it presented no certificate", trust.Check(null).Refusal);

        using var key = System.Security.Cryptography.ECDsa.Create();
        var request = new CertificateRequest("CN=plain", key, System.Security.Cryptography.HashAlgorithmName.SHA256);
        using var caKey = ca.GetECDsaPrivateKey()!;
        using var roleless = request.Create(ca.SubjectName, X509SignatureGenerator.CreateForECDsa(caKey), DateTimeOffset.UtcNow.AddMinutes(-1), DateTimeOffset.UtcNow.AddDays(1), [1, 2, 3]);
        Assert.Equal("the certificate 'plain' carries no rnncluster role", trust.Check(roleless).Refusal);

        using var revoked = CertificateAuthority.Issue(ca, "gone", ClusterRole.Worker, []);
        var revokedTrust = new ClusterTrust(ca, new HashSet<string> { revoked.SerialNumber });
        Assert.StartsWith("the certificate 'gone' (worker) is revoked", revokedTrust.Check(revoked).Refusal);
    }

    [Fact]
    public async Task The_certs_commands_write_tls_folders_that_load_and_keys_only_the_owner_reads()
    {
        Assert.Equal(0, (await Rnncluster("certs", "init", "--out", In("ca"))).Code);
        Assert.Equal(0, (await Rnncluster("certs", "node", "w1", "--role", "worker", "--ca", In("ca"), "--out", In("w1"), "--host", "127.0.0.1", "--host", "w1.local", "--days", "7")).Code);
        var client = await Rnncluster("certs", "client", "alice", "--ca", In("ca"), "--out", In("alice"));
        Assert.Equal(0, client.Code);
        Assert.Contains($"use it as --tls-dir {In("alice")}", client.Out);

        if (!OperatingSystem.IsWindows())
            foreach (var key in new[] { In("ca", TlsFiles.AuthorityKey), In("w1", TlsFiles.Key), In("alice", TlsFiles.Key) })
                Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(key));
        var worker = TlsIdentity.Load(In("w1"));
        Assert.Equal(ClusterRole.Worker, worker.Role);
        Assert.True(worker.Certificate.HasPrivateKey);
        Assert.InRange((worker.Certificate.NotAfter - DateTime.Now).TotalDays, 6.9, 7.1);
        Assert.Equal(ClusterRole.Client, TlsIdentity.Load(In("alice")).Role);
        var e = Assert.Throws<CertificateException>(() => worker.Require(ClusterRole.Coordinator, "a coordinator node"));
        Assert.Equal($"{In("w1", "tls.crt")} is a worker certificate ('w1' (worker)); a coordinator node needs a coordinator certificate (rnncluster certs node NAME --role coordinator)", e.Message);

        var show = (await Rnncluster("certs", "show", In("w1", TlsFiles.Certificate))).Out;
        Assert.Contains("subject   CN=w1, OU=worker, O=rnncluster", show);
        Assert.Contains("issuer    CN=rnncluster CA, O=rnncluster", show);
        Assert.Contains("role      worker", show);
        Assert.Contains("hosts     w1.local, 127.0.0.1", show);
        Assert.Contains("role      certificate authority", (await Rnncluster("certs", "show", In("ca", TlsFiles.Authority))).Out);
    }

    [Fact]
    public void Init_refuses_to_overwrite_a_ca_and_a_folder_of_another_ca_does_not_load_a_foreign_certificate()
    {
        CertsCommand.Init(In("ca"), "one", null, TextWriter.Null);
        var again = Assert.Throws<CertificateException>(() => CertsCommand.Init(In("ca"), "two", null, TextWriter.Null));
        Assert.Contains("already exists", again.Message);

        CertsCommand.Init(In("other"), "other CA", null, TextWriter.Null);
        CertsCommand.Client("bob", In("ca"), In("bob"), null, TextWriter.Null);
        File.Copy(In("other", TlsFiles.Authority), In("bob", TlsFiles.Authority), overwrite: true);
        var e = Assert.Throws<CertificateException>(() => TlsIdentity.Load(In("bob")));
        Assert.Contains("is not issued by this cluster's CA (other CA)", e.Message);
    }

    [Theory]
    [InlineData("certs node x --role client --ca a --out b", "--role must be coordinator or worker, got 'client'")]
    [InlineData("certs client --ca a --out b", "")]
    [InlineData("certs client x --ca a --out b --host h", "unknown option --host")]
    [InlineData("certs frobnicate", "unknown command 'frobnicate'")]
    public async Task Usage_mistakes_are_one_line_and_exit_2(string args, string reason)
    {
        var run = await Rnncluster(args.Split(' '));
        Assert.Equal(2, run.Code);
        Assert.Contains(reason, Assert.Single(run.Err.Split('\n', StringSplitOptions.RemoveEmptyEntries)));
    }

    [Fact]
    public async Task A_missing_ca_is_one_line_and_exit_1()
    {
        var run = await Rnncluster("certs", "client", "x", "--ca", In("nowhere"), "--out", In("x"));
        Assert.Equal(1, run.Code);
        Assert.Equal($"rnncluster: error: {In("nowhere", "ca.crt")} does not exist", run.Err.Trim());
    }
}
