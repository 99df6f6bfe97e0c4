using System.Net.Security;
using RnnCluster.Security;
using Xunit;

namespace RnnCluster.Tests.Security;

/// <summary>
/// The handshake validator's rule, direction by direction: which peer roles each program accepts,
/// and hostname validation when it is on.
/// </summary>
public sealed class TlsPolicyTests : IDisposable
{
    private readonly TlsCertificates _certificates = new();

    public void Dispose() => _certificates.Dispose();

    private TlsIdentity Identity(string folder, bool validateHostname = false) => TlsIdentity.Load(folder, validateHostname);

    [Theory]
    // program, peer, outbound, accepted
    [InlineData(ClusterRole.Coordinator, ClusterRole.Client, false, true)]
    [InlineData(ClusterRole.Coordinator, ClusterRole.Worker, false, true)]
    [InlineData(ClusterRole.Worker, ClusterRole.Client, false, false)]
    [InlineData(ClusterRole.Worker, ClusterRole.Client, true, true)]
    [InlineData(ClusterRole.Worker, ClusterRole.Coordinator, false, true)]
    [InlineData(ClusterRole.Client, ClusterRole.Worker, true, false)]
    [InlineData(ClusterRole.Client, ClusterRole.Coordinator, true, true)]
    [InlineData(ClusterRole.Client, ClusterRole.Worker, false, true)]
    [InlineData(ClusterRole.Client, ClusterRole.Client, false, false)]
    public void Each_program_accepts_the_roles_its_policy_names(ClusterRole program, ClusterRole peer, bool outbound, bool accepted)
    {
        var identity = Identity(Folder(program));
        var peerCertificate = Identity(Folder(peer)).Certificate;
        var refusal = RemotingTls.Refusal(identity, TlsPeerPolicy.For(program), peerCertificate, outbound, SslPolicyErrors.RemoteCertificateChainErrors);
        Assert.True(accepted == refusal is null, refusal ?? "accepted");
        if (!accepted) Assert.Contains($"a {ClusterRoles.Name(peer)} certificate", refusal);
    }

    [Fact]
    public void Hostname_validation_refuses_a_server_whose_certificate_names_another_host_only_when_on()
    {
        var coordinator = Identity(_certificates.Coordinator).Certificate;
        var mismatch = SslPolicyErrors.RemoteCertificateNameMismatch | SslPolicyErrors.RemoteCertificateChainErrors;
        var off = Identity(_certificates.Client);
        Assert.Null(RemotingTls.Refusal(off, TlsPeerPolicy.For(ClusterRole.Client), coordinator, outbound: true, mismatch));
        var on = Identity(_certificates.Client, validateHostname: true);
        Assert.Contains("does not name the host connected to", RemotingTls.Refusal(on, TlsPeerPolicy.For(ClusterRole.Client), coordinator, outbound: true, mismatch));
        Assert.Null(RemotingTls.Refusal(on, TlsPeerPolicy.For(ClusterRole.Client), coordinator, outbound: true, SslPolicyErrors.RemoteCertificateChainErrors));
    }

    [Fact]
    public void The_validator_records_the_refusal_for_the_clients_error()
    {
        var client = Identity(_certificates.Client);
        var validator = RemotingTls.Validator(client, TlsPeerPolicy.For(ClusterRole.Client));
        var worker = Identity(_certificates.Worker).Certificate;
        Assert.False(validator(worker, null, "akka.ssl.tcp://rnncluster@127.0.0.1:4053", SslPolicyErrors.None, Akka.Event.NoLogger.Instance));
        Assert.StartsWith("refused the TLS connection to akka.ssl.tcp://rnncluster@127.0.0.1:4053: a worker certificate", client.LastRefusal);
        Assert.False(validator(null, null, "127.0.0.1:50000", SslPolicyErrors.RemoteCertificateNotAvailable, Akka.Event.NoLogger.Instance));
        Assert.Equal("refused the TLS connection from 127.0.0.1:50000: it presented no certificate", client.LastRefusal);
    }

    private string Folder(ClusterRole role) => role switch
    {
        ClusterRole.Coordinator => _certificates.Coordinator,
        ClusterRole.Worker => _certificates.Worker,
        _ => _certificates.Client,
    };
}
