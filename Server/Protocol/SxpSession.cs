using System.Buffers;
using System.IO.Pipelines;
using System.Security.Claims;
using System.Text.Json.Serialization.Metadata;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Connections.Features;
using Microsoft.Extensions.Logging;
using SecureXfer.Server.Accounts;
using SecureXfer.Server.Configuration;
using SecureXfer.Server.Observability;
using SecureXfer.Server.Storage;
using SecureXfer.Server.Transfers;
using SecureXfer.Shared.Hashing;
using SecureXfer.Shared.IO;
using SecureXfer.Shared.Paths;
using SecureXfer.Shared.Protocol;

namespace SecureXfer.Server.Protocol;

/// <summary>
/// One SXP connection: HELLO, then AUTH, then operations. Frames are handled in order on the
/// read loop, so the payload slices stay valid without copying and one writer owns the output.
/// Until the peer has authenticated, only small frames are read and nothing but HELLO and
/// AUTH is accepted; anything else closes the connection.
/// </summary>
internal sealed partial class SxpSession(
    ConnectionContext connection,
    AccountService accounts,
    LoginGuard guard,
    SessionLimits limits,
    FileService files,
    UploadService uploads,
    ServerMetrics metrics,
    Audit.AuditLog audit,
    SecureXferOptions options,
    ILogger logger) : IDisposable
{
    private const int DownloadPiece = 512 * 1024;
    private const int ListBatch = 1000;

    private readonly PipeWriter _output = connection.Transport.Output;
    private readonly Dictionary<uint, ActiveUpload> _uploads = [];
    private readonly SessionLogScope _scope = new();
    private CancellationToken _stopping;
    private SessionState _state = SessionState.AwaitingHello;
    private AuthenticatedUser? _user;
    private ClaimsIdentity? _identity;
    private long _accountCheckedAt;
    private CancellationTokenSource? _writeStall;
    private IDisposable? _userSlot;

    // The read loop and the answers to PUTs (sent when their batch is committed) share the output.
    private readonly SemaphoreSlim _send = new(1, 1);
    private readonly SemaphoreSlim _putSlots = new(SxpLimits.MaxPutsInFlight, SxpLimits.MaxPutsInFlight);
    private readonly List<Task> _putReplies = [];
    private bool _putStarted;

    private enum SessionState
    {
        AwaitingHello,
        AwaitingAuth,
        Ready,
    }

    private CancellationToken Closed => connection.ConnectionClosed;

    /// <summary>Gives back the account's session slot.</summary>
    public void Dispose() => _userSlot?.Dispose();

    private AuthenticatedUser User => _user ?? throw new SxpException(ErrorCode.AuthRequired, "Authenticate first.");

    public async Task RunAsync()
    {
        var input = connection.Transport.Input;
        using var idle = new CancellationTokenSource();

        // On shutdown Kestrel asks connections to close; a session stops between frames instead of holding the host up.
        var lifetime = connection.Features.Get<IConnectionLifetimeNotificationFeature>();
        _stopping = lifetime?.ConnectionClosedRequested ?? CancellationToken.None;
        using var shutdown = _stopping.Register(() => input.CancelPendingRead());
        using var logScope = logger.BeginScope(_scope);
        try
        {
            // Before authentication the deadline is absolute from the accept, not renewed by each byte.
            var authDeadline = Environment.TickCount64 + (long)options.SxpAuthTimeout.TotalMilliseconds;
            while (true)
            {
                var wait = _state == SessionState.Ready
                    ? options.SxpIdleTimeout
                    : TimeSpan.FromMilliseconds(Math.Max(1, authDeadline - Environment.TickCount64));
                idle.CancelAfter(wait);
                ReadResult result;
                try
                {
                    result = await input.ReadAsync(idle.Token).ConfigureAwait(false);
                }
                catch (OperationCanceledException) when (idle.IsCancellationRequested)
                {
                    await SendErrorExclusiveAsync(0, ErrorCode.Timeout, _state == SessionState.Ready ? "Idle for too long." : "Authentication took too long.").ConfigureAwait(false);
                    return;
                }

                idle.CancelAfter(Timeout.Infinite);
                if (result.IsCanceled)
                {
                    await SendErrorExclusiveAsync(0, ErrorCode.Busy, "The server is shutting down; reconnect to resume.").ConfigureAwait(false);
                    return;
                }

                var buffer = result.Buffer;
                var keepGoing = true;
                while (keepGoing)
                {
                    var status = FrameParser.TryParse(buffer, MaxPayload, out var header, out var payload);
                    if (status == ParseStatus.Incomplete)
                    {
                        break;
                    }

                    if (status == ParseStatus.TooLarge)
                    {
                        LogRefusedFrame(logger, connection.ConnectionId, header.Length, MaxPayload);
                        await SendErrorExclusiveAsync(header.StreamId, ErrorCode.FrameTooLarge, $"Frame of {header.Length} bytes exceeds the limit of {MaxPayload}.").ConfigureAwait(false);
                        keepGoing = false;
                        break;
                    }

                    if (status == ParseStatus.Malformed)
                    {
                        await SendErrorExclusiveAsync(header.StreamId, ErrorCode.BadFrame, $"Unknown frame type 0x{(byte)header.Type:x2}.").ConfigureAwait(false);
                        keepGoing = false;
                        break;
                    }

                    // A PUT first takes one of the connection's slots: with all taken, reading pauses until answers go out.
                    var put = header.Type == FrameType.Put && _state == SessionState.Ready;
                    if (put)
                    {
                        await _putSlots.WaitAsync(Closed).ConfigureAwait(false);
                    }

                    await _send.WaitAsync(Closed).ConfigureAwait(false);
                    try
                    {
                        keepGoing = await HandleAsync(header, payload).ConfigureAwait(false);
                    }
                    finally
                    {
                        _send.Release();
                    }

                    if (put && !_putStarted)
                    {
                        _putSlots.Release();
                    }

                    _putStarted = false;
                    buffer = buffer.Slice(payload.End);
                }

                input.AdvanceTo(buffer.Start, buffer.End);
                if (!keepGoing || result.IsCompleted)
                {
                    return;
                }
            }
        }
        catch (Exception ex) when (ex is IOException or ConnectionResetException or ConnectionAbortedException or OperationCanceledException)
        {
            // The peer went away; nothing to answer.
        }
        finally
        {
            foreach (var upload in _uploads.Values)
            {
                await uploads.DetachAsync(upload).ConfigureAwait(false);
            }

            _uploads.Clear();

            // Answers still due (their batches are committing) go out before the output closes.
            await Task.WhenAll(_putReplies).ConfigureAwait(false);
            _writeStall?.Dispose();
            await input.CompleteAsync().ConfigureAwait(false);
            await _output.CompleteAsync().ConfigureAwait(false);
        }
    }

    private int MaxPayload => _state == SessionState.Ready ? SxpLimits.MaxPayload : SxpLimits.MaxPayloadBeforeHello;

    /// <summary>Handles one frame. Returns false when the connection must close.</summary>
    private async Task<bool> HandleAsync(FrameHeader header, ReadOnlySequence<byte> payload)
    {
        try
        {
            switch (_state)
            {
                case SessionState.AwaitingHello:
                    return await HelloAsync(header, payload).ConfigureAwait(false);
                case SessionState.AwaitingAuth:
                    return await AuthenticateAsync(header, payload).ConfigureAwait(false);
                default:
                    if (!await AccountStillGoodAsync().ConfigureAwait(false))
                    {
                        await SendErrorAsync(header.StreamId, ErrorCode.AuthFailed, "The account was disabled or its credentials changed.").ConfigureAwait(false);
                        return false;
                    }

                    return await OperateAsync(header, payload).ConfigureAwait(false);
            }
        }
        catch (SxpException ex)
        {
            await SendErrorAsync(header.StreamId, ex.Code, ex.Message).ConfigureAwait(false);
            return ex.Code is not (ErrorCode.BadFrame or ErrorCode.AuthRequired or ErrorCode.AuthFailed);
        }
        catch (Exception ex) when (StorageErrors.IsStorageFull(ex))
        {
            await SendErrorAsync(header.StreamId, ErrorCode.StorageFull, "The server is out of disk space.").ConfigureAwait(false);
            return true;
        }
        catch (Exception ex) when (ex is not OperationCanceledException and not ConnectionResetException)
        {
            LogOperationFailed(logger, ex, connection.ConnectionId, header.Type);
            await SendErrorAsync(header.StreamId, ErrorCode.Internal, "The server could not complete the operation.").ConfigureAwait(false);
            return false;
        }
    }

    private async Task<bool> HelloAsync(FrameHeader header, ReadOnlySequence<byte> payload)
    {
        if (header.Type != FrameType.Hello)
        {
            throw new SxpException(header.Type == FrameType.Auth ? ErrorCode.BadFrame : ErrorCode.AuthRequired, "Send HELLO first.");
        }

        var hello = PayloadReader.ReadControl(payload, SxpJsonContext.Default.HelloRequest);
        if (hello.Version != SxpLimits.Version)
        {
            await SendErrorAsync(header.StreamId, ErrorCode.UnsupportedVersion, $"This server speaks SXP version {SxpLimits.Version}.").ConfigureAwait(false);
            return false;
        }

        _state = SessionState.AwaitingAuth;
        await SendAsync(FrameType.HelloOk, header.StreamId,
            new HelloResponse(SxpLimits.Version, "SecureXfer", SxpLimits.MaxPayload, SxpLimits.MaxChunkSize, SxpLimits.DefaultChunkSize),
            SxpJsonContext.Default.HelloResponse).ConfigureAwait(false);
        return true;
    }

    private async Task<bool> AuthenticateAsync(FrameHeader header, ReadOnlySequence<byte> payload)
    {
        if (header.Type != FrameType.Auth)
        {
            throw new SxpException(ErrorCode.AuthRequired, "Authenticate before any other operation.");
        }

        var request = PayloadReader.ReadControl(payload, SxpJsonContext.Default.AuthRequest);
        var address = LoginGuard.AddressOf((connection.RemoteEndPoint as System.Net.IPEndPoint)?.Address);
        if (await guard.BannedUntilAsync(null, address, Closed).ConfigureAwait(false) is not null)
        {
            Audit("sxp.auth", null, "banned", null);
            throw new SxpException(ErrorCode.AuthFailed, "Too many failed logins from this address; try again later.");
        }

        (_identity, var forged) = await accounts.ValidateTokenAsync(request.Token).ConfigureAwait(false);
        _user = _identity is null ? null : await accounts.ResolveAsync(_identity, Closed).ConfigureAwait(false);
        Audit("sxp.auth", null, _user is null ? "failed" : "ok", _identity?.FindFirst(AccountService.ApiKeyClaim) is { } key ? "api key " + key.Value : null);
        if (_user is null)
        {
            LogAuthFailed(logger, connection.ConnectionId);
            if (forged)
            {
                // Expired, revoked or logged-out credentials are what honest clients send too; only made-up ones count as guessing.
                await guard.CredentialRefusedAsync(address, Closed).ConfigureAwait(false);
            }

            throw new SxpException(ErrorCode.AuthFailed, "The token was not accepted. Log in again.");
        }

        _userSlot = limits.TryEnterUser(_user.Id);
        if (_userSlot is null)
        {
            await SendErrorAsync(header.StreamId, ErrorCode.Busy, $"This account has {options.SxpSessionsPerUser} sessions open, as many as it may; close one and try again.").ConfigureAwait(false);
            return false;
        }

        _state = SessionState.Ready;
        _scope.UserId = _user.Id;
        _accountCheckedAt = Environment.TickCount64;
        await SendAsync(FrameType.AuthOk, header.StreamId, new AuthResponse(_user.Username, _user.Role), SxpJsonContext.Default.AuthResponse).ConfigureAwait(false);
        return true;
    }

    /// <summary>A long-lived connection re-checks its account now and then, so disabling a user or changing a password ends its sessions.</summary>
    private async Task<bool> AccountStillGoodAsync()
    {
        if (Environment.TickCount64 - _accountCheckedAt < options.AccountRecheckInterval.TotalMilliseconds)
        {
            return true;
        }

        _user = await accounts.ResolveAsync(_identity!, Closed).ConfigureAwait(false);
        _accountCheckedAt = Environment.TickCount64;
        return _user is not null;
    }

    private async Task<bool> OperateAsync(FrameHeader header, ReadOnlySequence<byte> payload)
    {
        var id = header.StreamId;
        if (header.Type != FrameType.Data)
        {
            _scope.TransferId = null;
        }

        switch (header.Type)
        {
            case FrameType.Data:
                await ReceiveChunkAsync(id, payload).ConfigureAwait(false);
                return true;
            case FrameType.Ping:
                FrameWriter.WriteRaw(_output, FrameType.Pong, id, []);
                await FlushAsync().ConfigureAwait(false);
                return true;
            case FrameType.Stat:
            {
                var request = PayloadReader.ReadControl(payload, SxpJsonContext.Default.PathRequest);
                var entry = await files.StatAsync(User, RemotePath.Parse(request.Path), Closed).ConfigureAwait(false);
                await SendAsync(FrameType.StatOk, id, entry, SxpJsonContext.Default.RemoteEntry).ConfigureAwait(false);
                return true;
            }

            case FrameType.List:
                await ListAsync(id, PayloadReader.ReadControl(payload, SxpJsonContext.Default.PathRequest)).ConfigureAwait(false);
                return true;
            case FrameType.Mkdir:
            {
                var request = PayloadReader.ReadControl(payload, SxpJsonContext.Default.PathRequest);
                var entry = files.Mkdir(User, RemotePath.Parse(request.Path));
                Audit("file.mkdir", request.Path);
                await SendAsync(FrameType.Ok, id, new OkResponse(entry), SxpJsonContext.Default.OkResponse).ConfigureAwait(false);
                return true;
            }

            case FrameType.Remove:
            {
                var request = PayloadReader.ReadControl(payload, SxpJsonContext.Default.RemoveRequest);
                await files.RemoveAsync(User, RemotePath.Parse(request.Path), request.Recursive, Closed).ConfigureAwait(false);
                Audit("file.delete", request.Path, detail: request.Recursive ? "recursive" : null);
                await SendAsync(FrameType.Ok, id, new OkResponse(null), SxpJsonContext.Default.OkResponse).ConfigureAwait(false);
                return true;
            }

            case FrameType.Move:
            {
                var request = PayloadReader.ReadControl(payload, SxpJsonContext.Default.MoveRequest);
                var entry = await files.MoveAsync(User, RemotePath.Parse(request.From), RemotePath.Parse(request.To), request.Overwrite, Closed).ConfigureAwait(false);
                Audit("file.move", request.From, detail: "to " + request.To);
                await SendAsync(FrameType.Ok, id, new OkResponse(entry), SxpJsonContext.Default.OkResponse).ConfigureAwait(false);
                return true;
            }

            case FrameType.SetModified:
            {
                var request = PayloadReader.ReadControl(payload, SxpJsonContext.Default.SetModifiedRequest);
                var entry = await files.SetModifiedAsync(User, RemotePath.Parse(request.Path), request.Modified, Closed).ConfigureAwait(false);
                Audit("file.modified", request.Path, detail: request.Modified.UtcDateTime.ToString("O", System.Globalization.CultureInfo.InvariantCulture));
                await SendAsync(FrameType.Ok, id, new OkResponse(entry), SxpJsonContext.Default.OkResponse).ConfigureAwait(false);
                return true;
            }

            case FrameType.UploadOpen:
            {
                var request = PayloadReader.ReadControl(payload, SxpJsonContext.Default.UploadOpenRequest);
                var (upload, ready) = await uploads.OpenAsync(User, request, Closed).ConfigureAwait(false);
                _scope.TransferId = upload.Id;
                await BindAsync(id, upload).ConfigureAwait(false);
                await SendReadyAsync(id, ready).ConfigureAwait(false);
                return true;
            }

            case FrameType.UploadAttach:
            {
                var request = PayloadReader.ReadControl(payload, SxpJsonContext.Default.UploadAttachRequest);
                var (upload, ready) = await uploads.AttachAsync(User, request.UploadId, Closed).ConfigureAwait(false);
                _scope.TransferId = upload.Id;
                await BindAsync(id, upload).ConfigureAwait(false);
                await SendAsync(FrameType.UploadReady, id, ready, SxpJsonContext.Default.UploadReadyResponse).ConfigureAwait(false);
                return true;
            }

            case FrameType.UploadCommit:
            {
                var request = PayloadReader.ReadControl(payload, SxpJsonContext.Default.UploadCommitRequest);
                _scope.TransferId = request.UploadId;
                var committing = _uploads.Values.FirstOrDefault(u => u.Id == request.UploadId)?.Path.Value;
                var entry = await uploads.CommitAsync(User, request.UploadId, request.Sha256, request.Modified, Closed).ConfigureAwait(false);
                Audit("file.upload", committing ?? entry.Name, detail: $"{entry.Size} bytes, sha256 {entry.Sha256}");
                await ForgetUploadAsync(request.UploadId).ConfigureAwait(false);
                await SendAsync(FrameType.UploadDone, id, new OkResponse(entry), SxpJsonContext.Default.OkResponse).ConfigureAwait(false);
                return true;
            }

            case FrameType.UploadAbort:
            {
                var request = PayloadReader.ReadControl(payload, SxpJsonContext.Default.UploadAbortRequest);
                _scope.TransferId = request.UploadId;
                await uploads.AbortAsync(User, request.UploadId, Closed).ConfigureAwait(false);
                await ForgetUploadAsync(request.UploadId).ConfigureAwait(false);
                await SendAsync(FrameType.Ok, id, new OkResponse(null), SxpJsonContext.Default.OkResponse).ConfigureAwait(false);
                return true;
            }

            case FrameType.Put:
                StartPut(id, payload);
                return true;
            case FrameType.DownloadOpen:
                await DownloadAsync(id, PayloadReader.ReadControl(payload, SxpJsonContext.Default.DownloadOpenRequest)).ConfigureAwait(false);
                return true;
            case FrameType.Hello:
            case FrameType.Auth:
                throw new SxpException(ErrorCode.BadRequest, "Already authenticated.");
            default:
                throw new SxpException(ErrorCode.BadFrame, $"{header.Type} is not a request.");
        }
    }

    private async Task ReceiveChunkAsync(uint streamId, ReadOnlySequence<byte> payload)
    {
        if (!_uploads.TryGetValue(streamId, out var upload))
        {
            throw new SxpException(ErrorCode.UploadGone, "DATA on a stream with no open upload.");
        }

        _scope.TransferId = upload.Id;

        if (!PayloadReader.TryReadData(payload, out var offset, out var crc, out var bytes))
        {
            throw new SxpException(ErrorCode.BadFrame, "DATA frame shorter than its offset and checksum.");
        }

        var stored = await uploads.WriteAsync(upload, offset, crc, bytes, Closed).ConfigureAwait(false);
        if (stored)
        {
            metrics.Bytes("upload", bytes.Length);
        }
        FrameWriter.WriteChunkAck(_output, streamId, offset, (int)bytes.Length, stored);
        await FlushAsync().ConfigureAwait(false);
    }

    private async Task ListAsync(uint streamId, PathRequest request)
    {
        var entries = await files.ListAsync(User, RemotePath.Parse(request.Path), Closed).ConfigureAwait(false);
        var sent = 0;
        do
        {
            var batch = entries.Skip(sent).Take(ListBatch).ToList();
            sent += batch.Count;
            var flags = sent < entries.Count ? FrameFlags.More : FrameFlags.None;
            FrameWriter.WriteControl(_output, FrameType.ListOk, streamId, new ListResponse(batch), SxpJsonContext.Default.ListResponse, flags);
            await FlushAsync().ConfigureAwait(false);
        }
        while (sent < entries.Count);
    }

    /// <summary>Streams a byte range straight from the file into the connection's buffers: READY, DATA frames, END.</summary>
    private async Task DownloadAsync(uint streamId, DownloadOpenRequest request)
    {
        _scope.TransferId = string.Create(System.Globalization.CultureInfo.InvariantCulture, $"download:{connection.ConnectionId}/{streamId}");
        using var file = await files.OpenReadAsync(User, RemotePath.Parse(request.Path), Closed).ConfigureAwait(false);
        var length = request.Length < 0 ? file.Size - request.Offset : request.Length;
        if (request.Clamp && request.Offset >= 0 && request.Offset <= file.Size)
        {
            length = Math.Min(length, file.Size - request.Offset);
        }

        if (request.Offset < 0 || request.Offset > file.Size || length < 0 || length > file.Size - request.Offset)
        {
            throw new SxpException(ErrorCode.BadRequest, $"Range {request.Offset}+{request.Length} is outside the file ({file.Size} bytes).");
        }

        await SendAsync(FrameType.DownloadReady, streamId,
            new DownloadReadyResponse(file.Size, file.Sha256, new DateTimeOffset(file.ModifiedUtc, TimeSpan.Zero), request.Offset, length),
            SxpJsonContext.Default.DownloadReadyResponse).ConfigureAwait(false);

        const int prefix = SxpLimits.HeaderSize + SxpLimits.DataPrefixSize;
        using var reader = new CacheAwareReader(file.Handle, options.DirectIo);
        var offset = request.Offset;
        var end = request.Offset + length;
        while (offset < end)
        {
            if (!await AccountStillGoodAsync().ConfigureAwait(false))
            {
                // A long download is one frame on the read loop: it checks the account as it goes.
                throw new SxpException(ErrorCode.AuthFailed, "The account was disabled or its credentials changed.");
            }

            if (_stopping.IsCancellationRequested)
            {
                // On shutdown a download ends at a piece boundary, with every byte sent so far whole and checked.
                throw new SxpException(ErrorCode.Busy, $"The server is shutting down; reconnect and resume from offset {offset}.");
            }

            var want = (int)Math.Min(DownloadPiece, end - offset);
            var memory = _output.GetMemory(prefix + want);
            var read = reader.Read(memory.Slice(prefix, want), offset);
            if (read == 0)
            {
                throw new SxpException(ErrorCode.Conflict, "The file shrank while it was being sent.");
            }

            var crc = Crc32C.Compute(memory.Span.Slice(prefix, read));
            FrameWriter.WriteDataPrefix(memory.Span, streamId, offset, crc, read);
            _output.Advance(prefix + read);
            offset += read;
            await FlushAsync().ConfigureAwait(false);
        }

        FrameWriter.WriteRaw(_output, FrameType.DownloadEnd, streamId, []);
        await FlushAsync().ConfigureAwait(false);
        metrics.Bytes("download", length);
        if (request.Offset + length == file.Size && length > 0)
        {
            // The range that completes the file counts as the download.
            metrics.Transfer("download", ok: true);
            Audit("file.download", request.Path, detail: $"{file.Size} bytes");
        }
    }

    /// <summary>UPLOAD_READY, with the held chunks spread over several frames (MORE on all but the last) when there are many.</summary>
    private async Task SendReadyAsync(uint streamId, UploadReadyResponse ready)
    {
        var perFrame = Math.Max(1, options.HeldChunksPerFrame);
        var count = ready.HaveIndexes.Count;
        var sent = 0;
        do
        {
            var take = Math.Min(perFrame, count - sent);
            var part = ready with
            {
                HaveIndexes = ready.HaveIndexes.Skip(sent).Take(take).ToList(),
                HaveCrcs = ready.HaveCrcs.Skip(sent).Take(take).ToList(),
            };
            sent += take;
            FrameWriter.WriteControl(_output, FrameType.UploadReady, streamId, part, SxpJsonContext.Default.UploadReadyResponse, sent < count ? FrameFlags.More : FrameFlags.None);
            await FlushAsync().ConfigureAwait(false);
        }
        while (sent < count);
    }

    private async Task BindAsync(uint streamId, ActiveUpload upload)
    {
        if (_uploads.Remove(streamId, out var previous))
        {
            await uploads.DetachAsync(previous).ConfigureAwait(false);
        }

        _uploads[streamId] = upload;
    }

    private async Task ForgetUploadAsync(string uploadId)
    {
        foreach (var (streamId, upload) in _uploads.Where(p => p.Value.Id == uploadId).ToList())
        {
            _uploads.Remove(streamId);
            await uploads.DetachAsync(upload).ConfigureAwait(false);
        }
    }

    private async ValueTask SendAsync<T>(FrameType type, uint streamId, T message, JsonTypeInfo<T> info)
    {
        FrameWriter.WriteControl(_output, type, streamId, message, info);
        await FlushAsync().ConfigureAwait(false);
    }

    /// <summary>Stages a PUT now; its answer is sent when its batch has been committed, while this connection reads on.</summary>
    private void StartPut(uint streamId, ReadOnlySequence<byte> payload)
    {
        var request = PayloadReader.ReadPut(payload, out var data);
        var commit = uploads.Put(User, request, data);
        _putStarted = true;
        _putReplies.RemoveAll(t => t.IsCompleted);
        _putReplies.Add(AnswerPutAsync(streamId, request.Path, commit));
    }

    private async Task AnswerPutAsync(uint streamId, string path, Task<RemoteEntry> commit)
    {
        try
        {
            RemoteEntry? entry = null;
            SxpException? failure = null;
            try
            {
                entry = await commit.ConfigureAwait(false);
            }
            catch (SxpException ex)
            {
                failure = ex;
            }

            await _send.WaitAsync().ConfigureAwait(false);
            try
            {
                Audit("file.upload", path, failure is null ? "ok" : "failed", failure?.Message ?? $"{entry?.Size} bytes, sha256 {entry?.Sha256}");
                if (failure is null)
                {
                    await SendAsync(FrameType.UploadDone, streamId, new OkResponse(entry), SxpJsonContext.Default.OkResponse).ConfigureAwait(false);
                }
                else
                {
                    await SendErrorAsync(streamId, failure.Code, failure.Message).ConfigureAwait(false);
                }
            }
            finally
            {
                _send.Release();
            }
        }
        catch (Exception ex) when (ex is IOException or ConnectionAbortedException or ConnectionResetException or InvalidOperationException or OperationCanceledException)
        {
            // The peer is gone; the file is stored all the same and a rerun finds it.
        }
        finally
        {
            _putSlots.Release();
        }
    }

    private void Audit(string action, string? target, string outcome = "ok", string? detail = null) =>
        audit.Record(new Audit.AuditEvent(action, outcome, _user?.Id, _user?.Username, target, connection.RemoteEndPoint?.ToString(), detail));

    private async ValueTask SendErrorExclusiveAsync(uint streamId, ErrorCode code, string message)
    {
        await _send.WaitAsync().ConfigureAwait(false);
        try
        {
            await SendErrorAsync(streamId, code, message).ConfigureAwait(false);
        }
        finally
        {
            _send.Release();
        }
    }

    private async ValueTask SendErrorAsync(uint streamId, ErrorCode code, string message)
    {
        try
        {
            FrameWriter.WriteError(_output, streamId, code, message);
            await FlushAsync().ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is IOException or InvalidOperationException or ConnectionResetException)
        {
            // The peer is gone; the error has nowhere to go.
        }
    }

    /// <summary>Flushes the output; a peer that reads nothing for the idle timeout is disconnected rather than pinning the session.</summary>
    private async ValueTask FlushAsync()
    {
        var flush = _output.FlushAsync(Closed);
        FlushResult result;
        if (flush.IsCompleted)
        {
            result = flush.Result;
        }
        else
        {
            _writeStall ??= new CancellationTokenSource();
            _writeStall.CancelAfter(options.SxpIdleTimeout);
            using (_writeStall.Token.Register(static state => ((ConnectionContext)state!).Abort(new ConnectionAbortedException("The peer stopped reading.")), connection))
            {
                result = await flush.ConfigureAwait(false);
            }

            if (!_writeStall.TryReset())
            {
                _writeStall.Dispose();
                _writeStall = null;
            }
        }

        if (result.IsCompleted || result.IsCanceled)
        {
            throw new ConnectionAbortedException("The peer stopped reading.");
        }
    }

    [LoggerMessage(EventId = 3002, Level = LogLevel.Warning, Message = "Connection {ConnectionId}: refused a frame declaring {Length} bytes (limit {Limit})")]
    private static partial void LogRefusedFrame(ILogger logger, string connectionId, uint length, int limit);

    [LoggerMessage(EventId = 3003, Level = LogLevel.Information, Message = "Connection {ConnectionId}: authentication failed")]
    private static partial void LogAuthFailed(ILogger logger, string connectionId);

    [LoggerMessage(EventId = 3004, Level = LogLevel.Error, Message = "Connection {ConnectionId}: {FrameType} failed")]
    private static partial void LogOperationFailed(ILogger logger, Exception exception, string connectionId, FrameType frameType);
}
