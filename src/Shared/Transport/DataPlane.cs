using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Threading.Channels;
using Akka.Actor;
using Akka.Event;
using RnnCluster.Protocol;

namespace RnnCluster.Transport;

/// <summary>
/// The data plane: protocol messages between nodes over a TCP connection of their own, one per
/// (sending node, receiving node) pair, so Akka's connection (membership, heartbeats, small
/// control messages) never carries bulk bytes and no heartbeat waits behind a tensor.
/// <para>
/// Each node listens on one port (<c>rnncluster.data-plane.port</c>, 0 = any free port) on the
/// interface Akka binds (<c>akka.remote.dot-netty.tcp.hostname</c>). A sender learns a peer's
/// port over the control plane: it asks the peer's transfer actor (<see cref="DataPlaneQuery"/>)
/// and connects to the host of the peer's Akka address (its public hostname).
/// </para>
/// <para>
/// Wire format (<see cref="Version"/>): the connecting side writes a hello (<see cref="Magic"/>,
/// its version, its Akka address), the accepting side answers with its version; a mismatch closes
/// the connection, and both sides log both versions. Then frames, each
/// <c>int32 header length, header (target path, sender path, manifest: strings), int64 payload
/// length, payload</c> (the ProtocolSerializer bytes), little-endian.
/// </para>
/// <para>
/// Memory: a sender serializes a message once into a pooled buffer (<see cref="TransferBuffers"/>)
/// and the link writes it straight from there; what waits for a slow receiver is that node's
/// queue, capped at <see cref="DataPlaneSettings.MaxQueuedBytes"/> (a send beyond it is dropped
/// with an error). A receiver reads one frame at a time per connection into a pooled buffer and
/// reads the next only after delivering it, so a slow receiver pushes back through TCP.
/// </para>
/// <para>
/// Failures: a peer that dies or stops reading fails the write (a reset, or no progress for
/// <see cref="DataPlaneSettings.Timeout"/>): that message and everything queued behind it is
/// dropped with a warning, and the next message opens a new connection. A frame cut short on the
/// receiving side is dropped whole, never delivered in part. Delivery is at most once, as Akka's.
/// </para>
/// </summary>
internal sealed class DataPlane : IDisposable
{
    public const uint Magic = 0x504E4452; // "RDNP" little-endian
    public const int Version = 1;

    /// <summary>Bytes written or read per call: the unit the progress timeout applies to.</summary>
    private const int Slice = 1 << 20;

    private const int MaxHeaderBytes = 64 * 1024;

    private static readonly UTF8Encoding Utf8 = new(false, true);

    private readonly ExtendedActorSystem _system;
    private readonly DataPlaneSettings _settings;
    private readonly TransferBuffers _buffers;
    private readonly ReceivedTensorArrays _tensorArrays;
    private readonly ProtocolSerializer _serializer;
    private readonly Func<Address, CancellationToken, Task<int>> _resolvePort;
    private readonly ILoggingAdapter _log;
    private readonly TcpListener _listener;
    private readonly CancellationTokenSource _stop = new();
    private readonly Dictionary<Address, Link> _links = [];
    private readonly List<Socket> _accepted = [];

    public DataPlane(ExtendedActorSystem system, DataPlaneSettings settings, TransferBuffers buffers, ReceivedTensorArrays tensorArrays,
        Func<Address, CancellationToken, Task<int>> resolvePort)
    {
        _system = system;
        _settings = settings;
        _buffers = buffers;
        _tensorArrays = tensorArrays;
        _resolvePort = resolvePort;
        _serializer = (ProtocolSerializer)system.Serialization.FindSerializerForType(typeof(DataPlaneQuery));
        _log = Logging.GetLogger(system, "rnncluster-data-plane");
        var bind = BindAddress(settings.Hostname);
        _listener = new TcpListener(bind, settings.Port);
        try
        {
            _listener.Start(backlog: 64);
        }
        catch (SocketException e)
        {
            throw new InvalidOperationException($"data plane: cannot listen on {settings.Hostname}:{settings.Port}: {e.Message} (rnncluster.data-plane.port / RNNCLUSTER_DATA_PORT)", e);
        }
        Port = ((IPEndPoint)_listener.LocalEndpoint).Port;
        _ = Task.Run(AcceptLoop);
    }

    /// <summary>The port this node's data plane listens on (the real one when configured as 0).</summary>
    public int Port { get; }

    /// <summary>Queues <paramref name="message"/> for its target's node; the link releases its payload once written or dropped.</summary>
    public void Send(Outgoing message)
    {
        var address = message.Target.Path.Address;
        Link link;
        lock (_links)
        {
            if (_stop.IsCancellationRequested)
            {
                message.Payload.Release();
                return;
            }
            if (!_links.TryGetValue(address, out link!))
            {
                link = new Link(this, address);
                _links[address] = link;
            }
        }
        link.Enqueue(message);
    }

    public void Dispose()
    {
        lock (_links)
        {
            if (_stop.IsCancellationRequested) return;
            _stop.Cancel();
        }
        _listener.Stop();
        lock (_links)
            foreach (var link in _links.Values) link.Close();
        lock (_accepted)
            foreach (var s in _accepted) s.Dispose();
    }

    private static IPAddress BindAddress(string host)
    {
        if (IPAddress.TryParse(host, out var ip)) return ip;
        var addresses = Dns.GetHostAddresses(host);
        return addresses.FirstOrDefault(a => a.AddressFamily == AddressFamily.InterNetwork) ?? addresses.FirstOrDefault()
            ?? throw new InvalidOperationException($"data plane: host name '{host}' has no address");
    }

    // ------------------------------------------------------------------ connection setup (the one place)

    /// <summary>
    /// Every connection's stream, outbound and inbound, is made here. This is the TLS hook: wrap
    /// <paramref name="network"/> in an <see cref="System.Net.Security.SslStream"/> and authenticate
    /// (as client when <paramref name="outbound"/>, else as server) before returning it.
    /// </summary>
    private static Task<Stream> SecureAsync(NetworkStream network, bool outbound, string peer, CancellationToken cancel)
    {
        _ = outbound;
        _ = peer;
        cancel.ThrowIfCancellationRequested();
        return Task.FromResult<Stream>(network);
    }

    private void Configure(Socket socket)
    {
        socket.NoDelay = true;
        if (_settings.SocketBufferBytes > 0)
        {
            socket.SendBufferSize = _settings.SocketBufferBytes;
            socket.ReceiveBufferSize = _settings.SocketBufferBytes;
        }
    }

    /// <summary>Connects to <paramref name="peer"/>'s data plane and exchanges hellos.</summary>
    private async Task<(Socket Socket, Stream Stream)> ConnectAsync(Address peer, CancellationToken cancel)
    {
        int port = await _resolvePort(peer, cancel);
        var socket = new Socket(SocketType.Stream, ProtocolType.Tcp);
        try
        {
            Configure(socket);
            using (var connect = Timeout(cancel))
                await socket.ConnectAsync(peer.Host!, port, connect.Token);
            var stream = await SecureAsync(new NetworkStream(socket, ownsSocket: false), outbound: true, $"{peer.Host}:{port}", cancel);
            var self = Utf8.GetBytes(_system.Provider.DefaultAddress.ToString());
            var hello = new byte[12 + self.Length];
            BinaryPrimitives.WriteUInt32LittleEndian(hello, Magic);
            BinaryPrimitives.WriteInt32LittleEndian(hello.AsSpan(4), Version);
            BinaryPrimitives.WriteInt32LittleEndian(hello.AsSpan(8), self.Length);
            self.CopyTo(hello, 12);
            using (var write = Timeout(cancel))
                await stream.WriteAsync(hello, write.Token);
            var answer = new byte[4];
            using (var read = Timeout(cancel))
                await stream.ReadExactlyAsync(answer, read.Token);
            int theirs = BinaryPrimitives.ReadInt32LittleEndian(answer);
            if (theirs != Version)
                throw new IOException($"{peer} speaks data-plane version {theirs}, this node version {Version}");
            return (socket, stream);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    private CancellationTokenSource Timeout(CancellationToken cancel)
    {
        var source = CancellationTokenSource.CreateLinkedTokenSource(cancel, _stop.Token);
        source.CancelAfter(_settings.Timeout);
        return source;
    }

    // ------------------------------------------------------------------ receiving

    private async Task AcceptLoop()
    {
        while (!_stop.IsCancellationRequested)
        {
            Socket socket;
            try
            {
                socket = await _listener.AcceptSocketAsync(_stop.Token);
            }
            catch (Exception) when (_stop.IsCancellationRequested)
            {
                return;
            }
            catch (SocketException e)
            {
                _log.Warning("data plane: accept failed: {0}", e.Message);
                continue;
            }
            lock (_accepted) _accepted.Add(socket);
            _ = Task.Run(() => Receive(socket));
        }
    }

    private async Task Receive(Socket socket)
    {
        string peer = socket.RemoteEndPoint?.ToString() ?? "?";
        try
        {
            Configure(socket);
            var stream = await SecureAsync(new NetworkStream(socket, ownsSocket: false), outbound: false, peer, _stop.Token);
            var head = new byte[12];
            using (var read = Timeout(CancellationToken.None))
                await stream.ReadExactlyAsync(head, read.Token);
            if (BinaryPrimitives.ReadUInt32LittleEndian(head) != Magic)
            {
                _log.Warning("data plane: {0} is not an RnnCluster data-plane peer (bad hello); closed", peer);
                return;
            }
            int version = BinaryPrimitives.ReadInt32LittleEndian(head.AsSpan(4));
            int nameLength = BinaryPrimitives.ReadInt32LittleEndian(head.AsSpan(8));
            if (nameLength is < 0 or > MaxHeaderBytes)
            {
                _log.Warning("data plane: {0} sent a hello with a {1}-byte address; closed", peer, nameLength);
                return;
            }
            var name = new byte[nameLength];
            using (var read = Timeout(CancellationToken.None))
                await stream.ReadExactlyAsync(name, read.Token);
            peer = Utf8.GetString(name);
            var answer = new byte[4];
            BinaryPrimitives.WriteInt32LittleEndian(answer, Version);
            await stream.WriteAsync(answer, _stop.Token);
            if (version != Version)
            {
                _log.Error("data plane: {0} speaks data-plane version {1}, this node version {2}; closed", peer, version, Version);
                return;
            }
            while (await ReceiveFrame(stream, peer)) { }
        }
        catch (Exception) when (_stop.IsCancellationRequested)
        {
        }
        catch (Exception e) when (e is IOException or SocketException or OperationCanceledException or DecoderFallbackException)
        {
            _log.Warning("data plane: connection from {0} failed: {1}", peer, e.Message);
        }
        finally
        {
            lock (_accepted) _accepted.Remove(socket);
            socket.Dispose();
        }
    }

    /// <summary>Reads and delivers one frame; false at a clean end of the connection (between frames).</summary>
    private async Task<bool> ReceiveFrame(Stream stream, string peer)
    {
        var lengthBytes = new byte[4];
        // Idle between frames: no timeout (a link may stay quiet between jobs).
        int got = await stream.ReadAtLeastAsync(lengthBytes, 4, throwOnEndOfStream: false, _stop.Token);
        if (got == 0) return false;
        if (got < 4) throw new IOException($"connection closed inside a frame header");
        int headerLength = BinaryPrimitives.ReadInt32LittleEndian(lengthBytes);
        if (headerLength is < 8 or > MaxHeaderBytes) throw new IOException($"frame header of {headerLength} bytes");
        var header = new byte[headerLength];
        using (var read = Timeout(CancellationToken.None))
            await stream.ReadExactlyAsync(header, read.Token);
        string target, sender, manifest;
        long payloadLength;
        using (var reader = new BinaryReader(new MemoryStream(header), Utf8))
        {
            target = reader.ReadString();
            sender = reader.ReadString();
            manifest = reader.ReadString();
            payloadLength = reader.ReadInt64();
        }
        if (payloadLength < 0 || payloadLength > _settings.MaxMessageBytes)
            throw new IOException($"a {manifest} of {payloadLength} bytes (the limit is rnncluster.data-plane.max-message-size, {_settings.MaxMessageBytes} bytes)");
        int length = (int)payloadLength;
        var started = DateTime.UtcNow;
        var buffer = _buffers.Rent(length);
        try
        {
            for (int offset = 0; offset < length;)
            {
                int n = Math.Min(Slice, length - offset);
                using var read = Timeout(CancellationToken.None);
                try
                {
                    await stream.ReadExactlyAsync(buffer.AsMemory(offset, n), read.Token);
                }
                catch (Exception e) when (e is EndOfStreamException or OperationCanceledException && !_stop.IsCancellationRequested)
                {
                    throw new IOException($"a {manifest} stopped after {offset} of {length} bytes ({(e is EndOfStreamException ? "connection closed" : $"no data for {_settings.Timeout.TotalSeconds:0} s")}); dropped");
                }
                offset += n;
            }
            Deliver(buffer, length, manifest, target, sender, peer, started);
        }
        finally
        {
            _buffers.Return(buffer);
        }
        return true;
    }

    private void Deliver(byte[] buffer, int length, string manifest, string targetPath, string senderPath, string peer, DateTime started)
    {
        try
        {
            var message = _serializer.FromBinary(buffer, length, manifest, _tensorArrays.Rent);
            var target = _system.Provider.ResolveActorRef(targetPath);
            var sender = senderPath.Length == 0 ? ActorRefs.NoSender : _system.Provider.ResolveActorRef(senderPath);
            target.Tell(message, sender);
            _system.EventStream.Publish(new TransferEvent(false, manifest, length, Pieces(length), ParsePeer(peer), started, DateTime.UtcNow));
        }
        catch (Exception e)
        {
            // The frame was read whole: the connection stays usable for the next one.
            _log.Error(e, "data plane: cannot deliver a {0} of {1} bytes from {2}", manifest, length, peer);
        }
    }

    private static Address ParsePeer(string peer) =>
        ActorPath.TryParseAddress(peer, out var address) ? address : Address.AllSystems;

    /// <summary>Slices a message of <paramref name="bytes"/> is written in; 0 for a small one (what a plain remote Tell would carry).</summary>
    private int Pieces(long bytes) => bytes <= _settings.SmallMessageBytes ? 0 : (int)((bytes + Slice - 1) / Slice);

    // ------------------------------------------------------------------ sending

    /// <summary>The queue and connection to one peer node; one writer task drains the queue in order.</summary>
    private sealed class Link
    {
        private readonly DataPlane _plane;
        private readonly Address _peer;
        private readonly Channel<Outgoing> _queue = Channel.CreateUnbounded<Outgoing>(new UnboundedChannelOptions { SingleReader = true });
        private long _queuedBytes;
        private Socket? _socket;
        private Stream? _stream;

        public Link(DataPlane plane, Address peer)
        {
            _plane = plane;
            _peer = peer;
            _ = Task.Run(Drain);
        }

        public void Enqueue(Outgoing message)
        {
            long queued = Interlocked.Add(ref _queuedBytes, message.Payload.Length);
            if (queued > _plane._settings.MaxQueuedBytes)
            {
                Interlocked.Add(ref _queuedBytes, -message.Payload.Length);
                _plane._log.Error("data plane: dropping a {0} of {1} bytes to {2}: {3} bytes already wait for that node (rnncluster.data-plane.max-queued-bytes)",
                    message.Manifest, message.Payload.Length, _peer, queued - message.Payload.Length);
                message.Payload.Release();
                return;
            }
            if (!_queue.Writer.TryWrite(message))
            {
                Interlocked.Add(ref _queuedBytes, -message.Payload.Length);
                message.Payload.Release();
            }
        }

        public void Close()
        {
            _queue.Writer.TryComplete();
            _socket?.Dispose();
        }

        private async Task Drain()
        {
            var reader = _queue.Reader;
            try
            {
                while (await reader.WaitToReadAsync(_plane._stop.Token))
                {
                    while (reader.TryRead(out var message))
                    {
                        try
                        {
                            await Write(message);
                        }
                        catch (Exception e) when (!_plane._stop.IsCancellationRequested)
                        {
                            Disconnect();
                            int dropped = 0;
                            while (reader.TryRead(out var queued))
                            {
                                Done(queued);
                                dropped++;
                            }
                            _plane._log.Warning("data plane: sending a {0} of {1} bytes to {2} failed ({3}); dropped it and {4} queued message(s) to that node",
                                message.Manifest, message.Payload.Length, _peer, e.Message, dropped);
                            _plane._system.EventStream.Publish(new TransferFailed(message.Manifest, message.Payload.Length, _peer, e.Message, dropped));
                        }
                        finally
                        {
                            Done(message);
                        }
                    }
                }
            }
            catch (OperationCanceledException)
            {
            }
            finally
            {
                while (reader.TryRead(out var left)) Done(left);
                Disconnect();
            }
        }

        private void Done(Outgoing message)
        {
            Interlocked.Add(ref _queuedBytes, -message.Payload.Length);
            message.Payload.Release();
        }

        private void Disconnect()
        {
            _stream?.Dispose();
            _socket?.Dispose();
            (_stream, _socket) = (null, null);
        }

        private async Task Write(Outgoing message)
        {
            if (_stream is null)
                (_socket, _stream) = await _plane.ConnectAsync(_peer, _plane._stop.Token);
            var stream = _stream;
            var started = DateTime.UtcNow;
            using (var header = new MemoryStream())
            {
                header.Write(new byte[4]);
                using (var w = new BinaryWriter(header, Utf8, leaveOpen: true))
                {
                    w.Write(message.TargetPath);
                    w.Write(message.SenderPath);
                    w.Write(message.Manifest);
                    w.Write((long)message.Payload.Length);
                }
                var bytes = header.GetBuffer();
                BinaryPrimitives.WriteInt32LittleEndian(bytes, (int)header.Length - 4);
                using var write = _plane.Timeout(CancellationToken.None);
                await stream.WriteAsync(bytes.AsMemory(0, (int)header.Length), write.Token);
            }
            for (int offset = 0; offset < message.Payload.Length;)
            {
                int n = Math.Min(Slice, message.Payload.Length - offset);
                using var write = _plane.Timeout(CancellationToken.None);
                await stream.WriteAsync(message.Payload.Bytes.AsMemory(offset, n), write.Token);
                offset += n;
            }
            _plane._system.EventStream.Publish(new TransferEvent(true, message.Manifest, message.Payload.Length, _plane.Pieces(message.Payload.Length),
                _peer, started, DateTime.UtcNow));
        }
    }
}

/// <summary>
/// <c>rnncluster.data-plane</c>: <c>port</c> (0: any free port), <c>hostname</c> (interface to
/// listen on; default Akka's <c>akka.remote.dot-netty.tcp.hostname</c>), <c>timeout</c> (a write or
/// read inside a frame without progress for this long fails the transfer), <c>max-message-size</c>,
/// <c>max-queued-bytes</c> (per destination node), <c>socket-buffer-size</c> (0: the OS default).
/// </summary>
internal sealed record DataPlaneSettings(string Hostname, int Port, TimeSpan Timeout, long MaxMessageBytes, long MaxQueuedBytes,
    int SocketBufferBytes, int SmallMessageBytes);
