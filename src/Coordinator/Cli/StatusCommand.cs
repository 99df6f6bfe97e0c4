using System.CommandLine;

namespace RnnCluster.Coordinator.Cli;

/// <summary><c>rnncluster status --contact ADDRESS [--timeout S]</c>: live workers and jobs of a running cluster.</summary>
public static class StatusCommand
{
    public static Command Create()
    {
        var contact = new ClusterContact(clientAddress: false);
        var command = new Command("status", "print the live workers and the jobs of a running cluster: \"workers N\" and \"jobs A,B\"");
        contact.AddTo(command);
        command.SetAction(async (result, _) =>
        {
            var output = result.InvocationConfiguration.Output;
            await using var connection = await contact.ConnectAsync(result, contact.Contacts(result));
            var status = await connection.Client.GetClusterStatusAsync();
            output.WriteLine($"workers {status.Workers}");
            output.WriteLine($"jobs {string.Join(",", status.Jobs)}");
            return 0;
        });
        return command;
    }
}
