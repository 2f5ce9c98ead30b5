using System.Globalization;
using System.Text;

namespace SecureXfer.Shared.Endpoints.Ftp;

/// <summary>
/// A directory tree on an FTP or FTPS server. Paths are relative to the login directory (a
/// leading '/' makes one absolute). Uploads go to a staging name beside the target, resume
/// with APPE after a break, get their modification time (MFMT, or vsftpd's MDTM form) and
/// are renamed over the target only when complete; downloads resume with REST into a
/// partial file beside theirs and appear by rename. One transfer at a time per connection;
/// a broken connection is replaced on the next call.
/// </summary>
public sealed class FtpEndpoint(FtpSettings settings) : IFileEndpoint
{
    private const int Buffer = 256 * 1024;
    /// <summary>More entries than this in one directory is taken for a hostile or broken server.</summary>
    public const int MaxListing = 1_000_000;

    private readonly SemaphoreSlim _gate = new(1, 1);
    private FtpConnection? _connection;

    public string Scheme => settings.Security switch
    {
        FtpSecurity.None => "ftp",
        FtpSecurity.Explicit => "ftps",
        _ => "ftps-implicit",
    };

    public string Describe(string path) =>
        $"{(settings.Security == FtpSecurity.None ? "ftp" : "ftps")}://{settings.User}@{settings.Host}:{settings.Port.ToString(CultureInfo.InvariantCulture)}/{path}";

    /// <summary>MLSD and MDTM carry whole seconds.</summary>
    public Task<TimeSpan> ModifiedPrecisionAsync(string directory, CancellationToken cancellationToken) => Task.FromResult(TimeSpan.FromSeconds(1));

    public bool AcceptsName(string name) => EndpointPaths.IsUsableName(name) && Encoding.UTF8.GetByteCount(name) <= 255;

    public bool RunsConcurrently(long size) => false;

    public Task<string?> HashAsync(string path, EndpointEntry entry, CancellationToken cancellationToken) => Task.FromResult<string?>(null);

    /// <summary>Runs <paramref name="work"/> on the connection (opened if needed); one caller at a time; a broken connection is dropped.</summary>
    private async Task<T> WithConnectionAsync<T>(Func<FtpConnection, Task<T>> work, CancellationToken cancellationToken)
    {
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            _connection ??= await FtpConnection.ConnectAsync(settings, cancellationToken).ConfigureAwait(false);
            return await work(_connection).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not FtpException { Code: >= 400 and not 421 and not 426 })
        {
            // The control connection is in an unknown state: start afresh next time.
            if (_connection is not null)
            {
                await _connection.DisposeAsync().ConfigureAwait(false);
                _connection = null;
            }

            throw;
        }
        finally
        {
            _gate.Release();
        }
    }

    private Task WithConnectionAsync(Func<FtpConnection, Task> work, CancellationToken cancellationToken) =>
        WithConnectionAsync(async c =>
        {
            await work(c).ConfigureAwait(false);
            return true;
        }, cancellationToken);

    public Task<EndpointEntry?> StatAsync(string path, CancellationToken cancellationToken) =>
        WithConnectionAsync(c => StatAsync(c, path, cancellationToken), cancellationToken);

    private async Task<EndpointEntry?> StatAsync(FtpConnection connection, string path, CancellationToken cancellationToken)
    {
        if (path.Length == 0 || path == "/")
        {
            return new EndpointEntry(path, EntryKind.Directory, 0, DateTimeOffset.UnixEpoch);
        }

        if (connection.Supports("MLST"))
        {
            var reply = await connection.SendAsync("MLST " + path, cancellationToken).ConfigureAwait(false);
            if (reply.Code == 250)
            {
                // The entry line starts with a space, between the first and the last line.
                var line = reply.Text.Split("\r\n").Skip(1).FirstOrDefault(l => l.StartsWith(' '));
                if (line is not null && FtpListing.ParseFacts(line.TrimStart()) is { } entry)
                {
                    return entry with { Name = EndpointPaths.Name(path) };
                }
            }

            return reply.Code is 550 or 450 ? null : throw new FtpException($"The FTP server refused MLST: {reply.Code} {reply.Message}", reply.Code);
        }

        // Without MLST: SIZE and MDTM answer for files; anything else is looked up in its parent's listing.
        if (await SizeAsync(connection, path, cancellationToken).ConfigureAwait(false) is { } size)
        {
            return new EndpointEntry(EndpointPaths.Name(path), EntryKind.File, size, await ModifiedAsync(connection, path, cancellationToken).ConfigureAwait(false) ?? DateTimeOffset.UnixEpoch);
        }

        var parent = EndpointPaths.Parent(path.TrimStart('/'));
        var listed = await ListAsync(connection, path.StartsWith('/') ? "/" + parent : parent, exactTimes: false, cancellationToken).ConfigureAwait(false);
        return listed.FirstOrDefault(e => e.Name == EndpointPaths.Name(path));
    }

    /// <summary>MDTM: a file's modification time to the second, in UTC.</summary>
    private static async Task<DateTimeOffset?> ModifiedAsync(FtpConnection connection, string path, CancellationToken cancellationToken)
    {
        var reply = await connection.SendAsync("MDTM " + path, cancellationToken).ConfigureAwait(false);
        return reply.Code == 213 ? FtpListing.ParseTime(reply.Text[3..]) : null;
    }

    public Task<IReadOnlyList<EndpointEntry>> ListAsync(string path, CancellationToken cancellationToken) =>
        WithConnectionAsync(c => ListAsync(c, path, exactTimes: true, cancellationToken), cancellationToken);

    /// <summary>
    /// MLSD where the server has it; else LIST, whose times are only to the minute (or the day),
    /// so with <paramref name="exactTimes"/> each file's time is then asked with MDTM.
    /// </summary>
    private static async Task<IReadOnlyList<EndpointEntry>> ListAsync(FtpConnection connection, string path, bool exactTimes, CancellationToken cancellationToken)
    {
        var machine = connection.Supports("MLST");
        var command = (machine ? "MLSD" : "LIST") + (path.Length == 0 ? string.Empty : " " + path);
        var entries = new List<EndpointEntry>();
        var now = DateTimeOffset.UtcNow;
        await using (var data = await connection.OpenDataAsync(command, cancellationToken).ConfigureAwait(false))
        {
            using var reader = new StreamReader(data, Encoding.UTF8, detectEncodingFromByteOrderMarks: false, leaveOpen: true);
            while (await reader.ReadLineAsync(cancellationToken).ConfigureAwait(false) is { } line)
            {
                var entry = machine ? FtpListing.ParseFacts(line) : FtpListing.ParseList(line, now);
                if (entry is not null)
                {
                    entries.Add(entry);
                    if (entries.Count > MaxListing)
                    {
                        throw new FtpException($"The listing of {path} has more than {MaxListing} entries; it is not trusted.");
                    }
                }
            }
        }

        await connection.FinishTransferAsync(command, cancellationToken).ConfigureAwait(false);
        if (!machine && exactTimes)
        {
            for (var i = 0; i < entries.Count; i++)
            {
                if (entries[i].IsFile && await ModifiedAsync(connection, EndpointPaths.Join(path, entries[i].Name), cancellationToken).ConfigureAwait(false) is { } exact)
                {
                    entries[i] = entries[i] with { Modified = exact };
                }
            }
        }

        return entries;
    }

    public Task MkdirAsync(string path, CancellationToken cancellationToken) =>
        WithConnectionAsync(async c =>
        {
            // One level at a time; a level that already exists as a directory is fine.
            var prefix = path.StartsWith('/') ? "/" : string.Empty;
            var current = string.Empty;
            foreach (var segment in path.Split('/', StringSplitOptions.RemoveEmptyEntries))
            {
                current = current.Length == 0 ? prefix + segment : current + "/" + segment;
                var made = await c.SendAsync("MKD " + current, cancellationToken).ConfigureAwait(false);
                if (!made.Positive && (await StatAsync(c, current, cancellationToken).ConfigureAwait(false)) is not { IsDirectory: true })
                {
                    throw new FtpException($"The FTP server refused MKD {current}: {made.Code} {made.Message}", made.Code);
                }
            }
        }, cancellationToken);

    public Task DeleteAsync(string path, CancellationToken cancellationToken) =>
        WithConnectionAsync(async c =>
        {
            var entry = await StatAsync(c, path, cancellationToken).ConfigureAwait(false);
            await c.CommandAsync((entry is { IsDirectory: true } ? "RMD " : "DELE ") + path, cancellationToken).ConfigureAwait(false);
        }, cancellationToken);

    public Task RenameAsync(string from, string to, CancellationToken cancellationToken) =>
        WithConnectionAsync(async c =>
        {
            if (await StatAsync(c, to, cancellationToken).ConfigureAwait(false) is not null)
            {
                throw new FtpException($"'{to}' already exists on the FTP server.", 553);
            }

            await c.CommandAsync("RNFR " + from, cancellationToken).ConfigureAwait(false);
            await c.CommandAsync("RNTO " + to, cancellationToken).ConfigureAwait(false);
        }, cancellationToken);

    public Task SetModifiedAsync(string path, DateTimeOffset modified, CancellationToken cancellationToken) =>
        WithConnectionAsync(c => SetModifiedAsync(c, path, modified, cancellationToken), cancellationToken);

    /// <summary>MFMT (the draft standard), else the MDTM-with-a-time form vsftpd and others accept.</summary>
    private static async Task SetModifiedAsync(FtpConnection connection, string path, DateTimeOffset modified, CancellationToken cancellationToken)
    {
        var stamp = FtpListing.FormatTime(modified);
        var reply = connection.Supports("MFMT")
            ? await connection.SendAsync($"MFMT {stamp} {path}", cancellationToken).ConfigureAwait(false)
            : await connection.SendAsync($"MDTM {stamp} {path}", cancellationToken).ConfigureAwait(false);
        if (!reply.Positive)
        {
            throw new FtpException($"The FTP server cannot set modification times ({reply.Code} {reply.Message}).", reply.Code);
        }
    }

    public Task<EndpointTransfer> UploadAsync(string localFile, string path, bool replace, IProgress<long>? progress, CancellationToken cancellationToken) =>
        WithConnectionAsync(async c =>
        {
            await using var input = new FileStream(localFile, FileMode.Open, FileAccess.Read, FileShare.Read, 1, FileOptions.Asynchronous | FileOptions.SequentialScan);
            var size = input.Length;
            var modified = File.GetLastWriteTimeUtc(input.SafeFileHandle);
            var staging = PartialDownload.StagingPath(path, size, modified);
            if (!replace && await StatAsync(c, path, cancellationToken).ConfigureAwait(false) is not null)
            {
                throw new FtpException($"'{path}' already exists on the FTP server; it was left as it is.", 553);
            }

            // What an earlier, interrupted attempt left at the staging name is kept when it can be continued.
            long offset = 0;
            if (c.Supports("SIZE") && await SizeAsync(c, staging, cancellationToken).ConfigureAwait(false) is { } held && held <= size)
            {
                offset = held;
            }

            input.Position = offset;
            progress?.Report(offset);
            var command = (offset > 0 ? "APPE " : "STOR ") + staging;
            await using (var data = await c.OpenDataAsync(command, cancellationToken).ConfigureAwait(false))
            {
                var buffer = new byte[Buffer];
                var sent = offset;
                int read;
                while ((read = await input.ReadAsync(buffer, cancellationToken).ConfigureAwait(false)) > 0)
                {
                    await data.WriteAsync(buffer.AsMemory(0, read), cancellationToken).ConfigureAwait(false);
                    sent += read;
                    progress?.Report(sent);
                }
            }

            await c.FinishTransferAsync(command, cancellationToken).ConfigureAwait(false);
            // What arrived is checked before it can replace anything: SIZE, else the listing.
            var stored = c.Supports("SIZE") ? await SizeAsync(c, staging, cancellationToken).ConfigureAwait(false) : (await StatAsync(c, staging, cancellationToken).ConfigureAwait(false))?.Size;
            if (stored != size)
            {
                await c.SendAsync("DELE " + staging, cancellationToken).ConfigureAwait(false);
                throw new FtpException($"The FTP server holds {stored?.ToString(CultureInfo.InvariantCulture) ?? "an unknown number of"} bytes of {path} after the upload, not {size}; it was discarded.");
            }

            // Best effort: a server that cannot set times still gets the file (a later sync compares by time and sends it again).
            try
            {
                await SetModifiedAsync(c, staging, new DateTimeOffset(modified, TimeSpan.Zero), cancellationToken).ConfigureAwait(false);
            }
            catch (FtpException)
            {
            }
            if (!replace && await StatAsync(c, path, cancellationToken).ConfigureAwait(false) is not null)
            {
                await c.SendAsync("DELE " + staging, cancellationToken).ConfigureAwait(false);
                throw new FtpException($"'{path}' appeared on the FTP server while it was being uploaded; it was left as it is.", 553);
            }

            await c.CommandAsync("RNFR " + staging, cancellationToken).ConfigureAwait(false);
            await c.CommandAsync("RNTO " + path, cancellationToken).ConfigureAwait(false);
            return new EndpointTransfer(size, offset, null);
        }, cancellationToken);

    public Task<EndpointTransfer> DownloadAsync(string path, string localFile, bool replace, IProgress<long>? progress, CancellationToken cancellationToken) =>
        WithConnectionAsync(async c =>
        {
            var entry = await StatAsync(c, path, cancellationToken).ConfigureAwait(false);
            if (entry is not { IsFile: true })
            {
                throw new FileNotFoundException($"{Describe(path)} is not a file on the FTP server.");
            }

            var download = new PartialDownload(localFile, entry.Size, entry.Modified);
            var partial = download.Partial;
            var offset = download.Begin(c.Supports("REST STREAM"), entry.Modified != DateTimeOffset.UnixEpoch);
            await using (var output = new FileStream(partial, offset > 0 ? FileMode.Open : FileMode.Create, FileAccess.Write, FileShare.None, 1, FileOptions.Asynchronous))
            {
                output.SetLength(offset);
                output.Position = offset;
                progress?.Report(offset);
                var command = "RETR " + path;
                await using (var data = await c.OpenDataAsync(command, cancellationToken, restartAt: offset).ConfigureAwait(false))
                {
                    var buffer = new byte[Buffer];
                    var received = offset;
                    int read;
                    while ((read = await data.ReadAsync(buffer, cancellationToken).ConfigureAwait(false)) > 0)
                    {
                        // Never more than the file said it holds: a server cannot fill this disk.
                        if (received + read > entry.Size)
                        {
                            throw new FtpException($"The FTP server sent more than the {entry.Size} bytes of {path}; the download was stopped.");
                        }

                        await output.WriteAsync(buffer.AsMemory(0, read), cancellationToken).ConfigureAwait(false);
                        received += read;
                        progress?.Report(received);
                    }
                }

                await c.FinishTransferAsync(command, cancellationToken).ConfigureAwait(false);
                if (output.Length != entry.Size)
                {
                    throw new FtpException($"The download of {path} brought {output.Length} bytes, not {entry.Size}; run again to continue.");
                }

                await output.FlushAsync(cancellationToken).ConfigureAwait(false);
                File.SetLastWriteTimeUtc(output.SafeFileHandle, entry.Modified.UtcDateTime);
                output.Flush(flushToDisk: true);
            }

            download.Complete(replace);
            return new EndpointTransfer(entry.Size, offset, null);
        }, cancellationToken);

    private static async Task<long?> SizeAsync(FtpConnection connection, string path, CancellationToken cancellationToken)
    {
        var reply = await connection.SendAsync("SIZE " + path, cancellationToken).ConfigureAwait(false);
        return reply.Code == 213 && long.TryParse(reply.Text[3..].Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out var size) ? size : null;
    }

    public async ValueTask DisposeAsync()
    {
        if (_connection is not null)
        {
            await _connection.DisposeAsync().ConfigureAwait(false);
            _connection = null;
        }

        _gate.Dispose();
    }
}
