using System.CommandLine;
using RnnCluster.CommandLine;

namespace RnnCluster.Coordinator.Cli;

/// <summary>
/// <c>rnncluster submit [JOB] --contact ADDRESS [--out DIR] [--timeout S] ...</c>: loads the job's
/// data here, starts the job on a running cluster through ClusterClient, follows its progress and
/// writes the outputs, as <c>train</c> does in local mode.
/// </summary>
public static class SubmitCommand
{
    public static Command Create()
    {
        var job = new JobArguments(overrides: true);
        var contact = new ClusterContact(clientAddress: true);
        var outDir = CliOptions.Text("--out", "DIR", "write weights.npz, model.json, metrics.csv and loss.png to this folder (created if missing)");
        var minWorkers = CliOptions.Int("--min-workers", "N", "override the job's min_workers (the job waits for N workers)", min: 1);
        var command = new Command("submit", """
            run a job on a running cluster and follow it: the data is loaded and checked here and sent
            with the job; the progress and the outputs are those of 'rnncluster train'
            """);
        job.AddTo(command);
        contact.AddTo(command);
        command.Add(outDir);
        command.Add(minWorkers);
        command.SetAction(async (result, _) =>
        {
            var output = result.InvocationConfiguration.Output;
            var contacts = contact.Contacts(result);
            var spec = job.Read(result);
            if (result.GetValue(minWorkers) is { } n) spec = spec with { MinWorkers = n };
            var data = JobArguments.LoadData(spec);
            output.WriteLine($"job '{spec.Name}': {data.Description}; {spec.Epochs} epochs of batch {spec.BatchSize}; cluster at {string.Join(", ", contacts.Select(c => Hosting.AkkaCluster.ForTransport(c, contact.UsesTls(result))))}");

            await using var connection = await contact.ConnectAsync(result, contacts);
            using var handle = await connection.Client.StartWatchedJobAsync(spec, data);
            output.WriteLine($"job {handle.JobId} started");
            return await JobConsole.FollowAsync(handle, spec, data, result.GetValue(outDir), output, connection.Lost);
        });
        return command;
    }
}
