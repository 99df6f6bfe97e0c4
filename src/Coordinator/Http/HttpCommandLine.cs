using System.CommandLine;
using RnnCluster.Client;
using RnnCluster.CommandLine;

namespace RnnCluster.Coordinator.Http;

/// <summary>The <c>--http-port</c> option the coordinator and train commands share, and starting the API when it is given.</summary>
public static class HttpCommandLine
{
    public static Option<int?> PortOption() => CliOptions.Int("--http-port", "P",
        $"serve the HTTP/JSON API, /metrics and the dashboard on 127.0.0.1:P (0: a free port; default: ${HttpApiOptions.PortVariable}, else off)", min: 0);

    /// <summary>Starts the API when a port was asked for (option or environment); null otherwise.</summary>
    public static async Task<HttpApi?> StartIfAskedAsync(int? option, RnnClusterClient client, Func<IReadOnlyList<NodeView>> nodes, Action<string> say)
    {
        if (HttpApiOptions.PortFrom(option) is not { } port) return null;
        if (port > 65535) throw new Jobs.JobException($"--http-port {port}: expected a port number (0 to 65535)");
        HttpApi api;
        try
        {
            api = await HttpApi.StartAsync(new HttpApiOptions { Port = port }, client, nodes);
        }
        catch (IOException e)
        {
            throw new RnnClusterException($"cannot serve HTTP on 127.0.0.1:{port}: {e.Message}");
        }
        say($"HTTP API and dashboard at {api.Url}/ (OpenAPI: {api.Url}{HttpApi.OpenApiPath}, metrics: {api.Url}/metrics)");
        return api;
    }
}
