using Akka.Actor;
using Akka.Event;
using RnnCluster.Checkpoints;
using RnnCluster.Jobs;
using RnnCluster.Protocol;

namespace RnnCluster.Coordinator.Actors;

/// <summary>What a job asks of its checkpoint writer; never leaves the process.</summary>
internal interface ICheckpointWrite : INoSerializationVerificationNeeded;

internal sealed record WriteJobData(string Key, Dataset Data, string DataHash) : ICheckpointWrite;

internal sealed record WriteCheckpoint(JobSnapshot Snapshot) : ICheckpointWrite;

internal sealed record MarkJobEnded(string Key, JobState State, string? Reason) : ICheckpointWrite;

/// <summary>The writer's answer to <see cref="WriteCheckpoint"/>: where it went, or why it did not.</summary>
internal sealed record CheckpointWritten(DataCursor Cursor, string? Path, string? Error) : INoSerializationVerificationNeeded;

/// <summary>
/// Writes one job's checkpoints with a <see cref="CheckpointStore"/>, in the order asked, on a
/// thread of its own (a pinned dispatcher), so file writes and fsyncs never hold up the job's
/// mailbox. A failed write is reported and logged; the job goes on and the next write tries again.
/// </summary>
public sealed class CheckpointWriter : ReceiveActor
{
    private readonly ILoggingAdapter _log = Context.GetLogger();

    public CheckpointWriter(CheckpointStore store)
    {
        Receive<WriteJobData>(w => Try($"the data of job {w.Key}", () => store.WriteDataOnce(w.Key, w.Data, w.DataHash)));
        Receive<MarkJobEnded>(m => Try($"the end of job {m.Key}", () => store.MarkEnded(m.Key, m.State, m.Reason)));
        Receive<WriteCheckpoint>(w =>
        {
            string? path = null;
            var error = Try($"checkpoint {CheckpointStore.CheckpointName(w.Snapshot.Cursor)} of job {w.Snapshot.JobId}", () => path = store.Write(w.Snapshot));
            if (path is not null) _log.Debug("job {0}: checkpoint {1}", w.Snapshot.JobId, path);
            Sender.Tell(new CheckpointWritten(w.Snapshot.Cursor, path, error));
        });
    }

    public static Props Props(CheckpointStore store) =>
        Akka.Actor.Props.Create(() => new CheckpointWriter(store)).WithDispatcher(Hosting.AkkaConfig.JobDispatcher);

    private string? Try(string what, Action write)
    {
        try
        {
            write();
            return null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            _log.Error("cannot write {0} in {1}: {2}", what, "the checkpoint folder", e.Message);
            return $"cannot write {what}: {e.Message}";
        }
    }
}
