using System.Security.Cryptography.X509Certificates;
using RnnCluster.Security;

namespace RnnCluster.Coordinator.Cli;

/// <summary>
/// <c>rnncluster certs init|node|client|show</c>: the cluster's certificate authority and the
/// certificates it issues (<see cref="CertificateAuthority"/>). Each <c>--out DIR</c> of node and
/// client is ready to pass as that program's <c>--tls-dir</c>. The four operations are plain
/// methods (<see cref="Init"/>, <see cref="Node"/>, <see cref="Client"/>, <see cref="Show"/>), so
/// any argument parser can call them; <see cref="Run"/> is the hand-written one.
/// </summary>
public static class CertsCommand
{
    public const string Usage = """
        usage: rnncluster certs <init|node|client|show> ...

          certs init --out CA_DIR [--name N] [--days D]
                 make the cluster's certificate authority: CA_DIR/ca.crt and CA_DIR/ca.key (mode
                 0600; keep it off the cluster). Default lifetime 1825 days.
          certs node NAME --role coordinator|worker --ca CA_DIR --out DIR [--host H]... [--days D]
                 a node certificate: DIR/ca.crt, DIR/tls.crt, DIR/tls.key (mode 0600), ready as that
                 node's --tls-dir. --host (repeatable): IP addresses or DNS names the node is reached
                 at, for hostname validation (default: NAME). Default lifetime 90 days.
          certs client NAME --ca CA_DIR --out DIR [--days D]
                 a client certificate (submit and follow jobs; cannot join the cluster), same files.
          certs show FILE
                 subject, issuer, role, validity, serial number and host names of a certificate.

        Rotate: issue again into the same DIR and restart the program. Revoke: list the serial
        number in each program's TLS folder's revoked.txt, or make a new CA and re-issue all.
        """;

    /// <summary>Parses <c>certs ...</c> and runs it.</summary>
    public static int Run(IEnumerable<string> args, TextWriter output)
    {
        var list = args.ToList();
        if (list.Count == 0 || list[0] is "--help" or "-h" or "help")
        {
            output.WriteLine(Usage);
            return list.Count == 0 ? 2 : 0;
        }
        var (positional, options, hosts) = Parse(list.Skip(1), list[0] switch
        {
            "init" => ["out", "name", "days"],
            "node" => ["role", "ca", "out", "days"],
            "client" => ["ca", "out", "days"],
            "show" => [],
            _ => throw new UsageException($"unknown certs command '{list[0]}' (expected init, node, client or show)"),
        }, allowHosts: list[0] == "node");
        if (options.ContainsKey("help"))
        {
            output.WriteLine(Usage);
            return 0;
        }
        string Required(string name) => options.GetValueOrDefault(name) ?? throw new UsageException($"certs {list[0]}: --{name} is required");
        string OneName(string what)
        {
            if (positional.Count != 1) throw new UsageException($"certs {list[0]}: give exactly one {what}");
            return positional[0];
        }
        int? days = null;
        if (options.GetValueOrDefault("days") is { } d)
            days = int.TryParse(d, out var n) && n >= 1 ? n : throw new UsageException($"--days must be a whole number of at least 1, got '{d}'");
        switch (list[0])
        {
            case "init":
                if (positional.Count > 0) throw new UsageException($"certs init: unexpected argument '{positional[0]}'");
                Init(Required("out"), options.GetValueOrDefault("name") ?? "rnncluster CA", days, output);
                break;
            case "node":
                var role = Required("role") switch
                {
                    "coordinator" => ClusterRole.Coordinator,
                    "worker" => ClusterRole.Worker,
                    var other => throw new UsageException($"--role must be coordinator or worker, got '{other}' (clients: certs client NAME)"),
                };
                Node(OneName("node name"), role, Required("ca"), Required("out"), hosts, days, output);
                break;
            case "client":
                Client(OneName("client name"), Required("ca"), Required("out"), days, output);
                break;
            default:
                Show(OneName("certificate file"), output);
                break;
        }
        return 0;
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

    private static (List<string> Positional, Dictionary<string, string?> Options, List<string> Hosts) Parse(IEnumerable<string> args, IReadOnlyList<string> valueOptions, bool allowHosts)
    {
        var positional = new List<string>();
        var options = new Dictionary<string, string?>();
        var hosts = new List<string>();
        var list = args.ToList();
        for (int i = 0; i < list.Count; i++)
        {
            var a = list[i];
            if (!a.StartsWith("--", StringComparison.Ordinal))
            {
                positional.Add(a);
                continue;
            }
            var name = a[2..];
            string? value = null;
            int eq = name.IndexOf('=');
            if (eq >= 0) (name, value) = (name[..eq], name[(eq + 1)..]);
            if (name == "help")
            {
                options["help"] = null;
                continue;
            }
            bool isHost = allowHosts && name == "host";
            if (!isHost && !valueOptions.Contains(name)) throw new UsageException($"unknown option --{name}");
            if (value is null)
            {
                if (i + 1 >= list.Count || list[i + 1].StartsWith("--", StringComparison.Ordinal)) throw new UsageException($"option --{name} needs a value");
                value = list[++i];
            }
            if (isHost) hosts.Add(value);
            else options[name] = value;
        }
        return (positional, options, hosts);
    }
}
