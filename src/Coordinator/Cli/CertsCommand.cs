using System.CommandLine;
using System.Security.Cryptography.X509Certificates;
using RnnCluster.CommandLine;
using RnnCluster.Security;

namespace RnnCluster.Coordinator.Cli;

/// <summary>
/// <c>rnncluster certs init|node|client|show</c>: the cluster's certificate authority and the
/// certificates it issues (<see cref="CertificateAuthority"/>). Each <c>--out DIR</c> of node and
/// client is ready to pass as that program's <c>--tls-dir</c>. The four operations are plain
/// methods (<see cref="Init"/>, <see cref="Node"/>, <see cref="Client"/>, <see cref="Show"/>);
/// <see cref="Create"/> is the command (System.CommandLine).
/// </summary>
public static class CertsCommand
{
    public const string Description = """
        the cluster's certificate authority and the certificates it issues, for --tls-dir.
        Rotate: issue again into the same folder and restart the program. Revoke: list the serial
        number in revoked.txt in each program's TLS folder, or make a new CA and re-issue all
        """;

    public static Command Create()
    {
        var certs = new Command("certs", Description);
        certs.Add(InitCommand());
        certs.Add(IssueCommand(client: false));
        certs.Add(IssueCommand(client: true));
        certs.Add(ShowCommand());
        return certs;
    }

    private static Option<int?> Days(int defaultDays) => CliOptions.Int("--days", "D", $"lifetime in days (default {defaultDays})", min: 1);

    private static Command InitCommand()
    {
        var outDir = CliOptions.Text("--out", "CA_DIR", "folder for ca.crt and ca.key (mode 0600; keep it off the cluster)", required: true);
        var name = CliOptions.Text("--name", "N", "the CA's name", "rnncluster CA");
        var days = Days(1825);
        var command = new Command("init", "make the cluster's certificate authority") { outDir, name, days };
        command.SetAction(result =>
        {
            Init(result.GetRequiredValue(outDir)!, result.GetRequiredValue(name), result.GetValue(days), result.InvocationConfiguration.Output);
            return 0;
        });
        return command;
    }

    private static Command IssueCommand(bool client)
    {
        var name = new Argument<string>("NAME") { Description = "the certificate's name (its CN)" };
        var ca = CliOptions.Text("--ca", "CA_DIR", "the CA folder of 'certs init'", required: true);
        var outDir = CliOptions.Text("--out", "DIR", "folder for ca.crt, tls.crt and tls.key (mode 0600): the program's --tls-dir", required: true);
        var days = Days(90);
        var command = client
            ? new Command("client", "a client certificate: submits and follows jobs, cannot join the cluster") { name, ca, outDir, days }
            : new Command("node", "a node certificate for a coordinator or a worker") { name, ca, outDir, days };
        var role = CliOptions.Text("--role", "coordinator|worker", "what the node may be", required: true);
        var hosts = CliOptions.Repeated("--host", "H", "an IP address or DNS name the node is reached at, for hostname validation (repeatable; default: NAME)");
        if (!client)
        {
            command.Add(role);
            command.Add(hosts);
        }
        command.SetAction(result =>
        {
            var output = result.InvocationConfiguration.Output;
            var lifetime = result.GetValue(days);
            if (client)
            {
                Client(result.GetRequiredValue(name), result.GetRequiredValue(ca)!, result.GetRequiredValue(outDir)!, lifetime, output);
                return 0;
            }
            var parsed = result.GetRequiredValue(role) switch
            {
                "coordinator" => ClusterRole.Coordinator,
                "worker" => ClusterRole.Worker,
                var other => throw new UsageException($"--role must be coordinator or worker, got '{other}' (clients: certs client NAME)"),
            };
            Node(result.GetRequiredValue(name), parsed, result.GetRequiredValue(ca)!, result.GetRequiredValue(outDir)!, result.GetValue(hosts) ?? [], lifetime, output);
            return 0;
        });
        return command;
    }

    private static Command ShowCommand()
    {
        var file = new Argument<string>("FILE") { Description = "a PEM certificate (ca.crt, tls.crt)" };
        var command = new Command("show", "subject, issuer, role, validity, serial number and host names of a certificate") { file };
        command.SetAction(result =>
        {
            Show(result.GetRequiredValue(file), result.InvocationConfiguration.Output);
            return 0;
        });
        return command;
    }

    /// <summary>Makes a CA in <paramref name="directory"/>; refuses to overwrite one that is there.</summary>
    public static void Init(string directory, string name, int? days, TextWriter output)
    {
        var key = Path.Combine(directory, TlsFiles.AuthorityKey);
        if (File.Exists(key))
            throw new CertificateException($"{key} already exists: a CA is there (remove it first to make a new one; every certificate it issued stops being trusted)");
        using var ca = CertificateAuthority.CreateAuthority(name, days is { } d ? TimeSpan.FromDays(d) : null);
        TlsFiles.WriteCertificate(Path.Combine(directory, TlsFiles.Authority), ca);
        TlsFiles.WriteKey(key, ca);
        output.WriteLine($"CA '{name}' in {directory}: {TlsFiles.Authority}, {TlsFiles.AuthorityKey} (mode 0600); valid until {ca.NotAfter.ToUniversalTime():yyyy-MM-dd} UTC");
    }

    /// <summary>Issues a node certificate for <paramref name="role"/> into <paramref name="directory"/> (its <c>--tls-dir</c>).</summary>
    public static void Node(string name, ClusterRole role, string caDirectory, string directory, IReadOnlyList<string> hosts, int? days, TextWriter output)
    {
        if (role == ClusterRole.Client) throw new ArgumentException("clients get their certificate from Client", nameof(role));
        Issue(name, role, caDirectory, directory, hosts, days, output);
    }

    /// <summary>Issues a client certificate into <paramref name="directory"/> (the client's <c>--tls-dir</c>).</summary>
    public static void Client(string name, string caDirectory, string directory, int? days, TextWriter output) =>
        Issue(name, ClusterRole.Client, caDirectory, directory, [], days, output);

    /// <summary>Prints subject, issuer, role, validity, serial number and host names of a PEM certificate.</summary>
    public static void Show(string file, TextWriter output)
    {
        using var certificate = TlsFiles.ReadCertificate(file);
        var role = ClusterRoles.Of(certificate);
        bool authority = certificate.Extensions.OfType<X509BasicConstraintsExtension>().Any(b => b.CertificateAuthority);
        output.WriteLine($"subject   {certificate.Subject}");
        output.WriteLine($"issuer    {certificate.Issuer}");
        output.WriteLine($"role      {(role is { } r ? ClusterRoles.Name(r) : authority ? "certificate authority" : "none")}");
        output.WriteLine($"valid     {certificate.NotBefore.ToUniversalTime():yyyy-MM-dd HH:mm} UTC to {certificate.NotAfter.ToUniversalTime():yyyy-MM-dd HH:mm} UTC" +
                         (DateTime.Now > certificate.NotAfter ? " (expired)" : DateTime.Now < certificate.NotBefore ? " (not yet valid)" : ""));
        output.WriteLine($"serial    {certificate.SerialNumber}");
        var names = certificate.Extensions.OfType<X509SubjectAlternativeNameExtension>()
            .SelectMany(e => e.EnumerateDnsNames().Concat(e.EnumerateIPAddresses().Select(ip => ip.ToString()))).ToList();
        if (names.Count > 0) output.WriteLine($"hosts     {string.Join(", ", names)}");
        output.WriteLine($"sha256    {certificate.GetCertHashString(System.Security.Cryptography.HashAlgorithmName.SHA256)}");
    }

    private static void Issue(string name, ClusterRole role, string caDirectory, string directory, IReadOnlyList<string> hosts, int? days, TextWriter output)
    {
        var caCertificate = Path.Combine(caDirectory, TlsFiles.Authority);
        using var ca = TlsFiles.ReadCertificateWithKey(caCertificate, Path.Combine(caDirectory, TlsFiles.AuthorityKey));
        using var issued = CertificateAuthority.Issue(ca, name, role, hosts, days is { } d ? TimeSpan.FromDays(d) : null);
        TlsFiles.WriteCertificate(Path.Combine(directory, TlsFiles.Authority), ca);
        TlsFiles.WriteCertificate(Path.Combine(directory, TlsFiles.Certificate), issued);
        TlsFiles.WriteKey(Path.Combine(directory, TlsFiles.Key), issued);
        output.WriteLine($"{ClusterRoles.Name(role)} certificate '{name}' in {directory}: {TlsFiles.Authority}, {TlsFiles.Certificate}, {TlsFiles.Key} (mode 0600); " +
                         $"serial {issued.SerialNumber}, valid until {issued.NotAfter.ToUniversalTime():yyyy-MM-dd} UTC; use it as --tls-dir {directory}");
    }
}
