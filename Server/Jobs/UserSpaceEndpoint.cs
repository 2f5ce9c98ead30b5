using System.Security.Cryptography;
using SecureXfer.Server.Accounts;
using SecureXfer.Server.Storage;
using SecureXfer.Server.Transfers;
using SecureXfer.Shared.Endpoints;
using SecureXfer.Shared.Hashing;
using SecureXfer.Shared.Paths;
using SecureXfer.Shared.Protocol;

namespace SecureXfer.Server.Jobs;

/// <summary>
/// A user's own space on this server, as a sync endpoint for scheduled jobs. Everything goes
/// through the same services as the user's own requests: paths are confined to the user's root
/// (links never followed), files arrive through the staged commit with the user's quota and a
/// recorded SHA-256, and listings carry those hashes. Paths are relative to the user's root.
/// </summary>
internal sealed class UserSpaceEndpoint(AuthenticatedUser user, FileService files, UploadService uploads, string server) : IFileEndpoint
{
    private static RemotePath PathOf(string path) => RemotePath.Parse("/" + path.TrimStart('/'));

    public string Describe(string path) => $"sxfer://{server}/{path.TrimStart('/')}";

    public Task<TimeSpan> ModifiedPrecisionAsync(string directory, CancellationToken cancellationToken) => Task.FromResult(TimeSpan.FromTicks(1));

    public bool AcceptsName(string name) => SecureXferEndpoint.AcceptsRemoteName(name);

    public bool RunsConcurrently(long size) => false;

    public Task<string?> HashAsync(string path, EndpointEntry entry, CancellationToken cancellationToken) => Task.FromResult(entry.Sha256);

    public async Task<EndpointEntry?> StatAsync(string path, CancellationToken cancellationToken)
    {
        try
        {
            return SecureXferEndpoint.ToEntry(await files.StatAsync(user, PathOf(path), cancellationToken).ConfigureAwait(false));
        }
        catch (SxpException ex) when (ex.Code == ErrorCode.NotFound)
        {
            return null;
        }
    }

    public async Task<IReadOnlyList<EndpointEntry>> ListAsync(string path, CancellationToken cancellationToken) =>
        [.. (await files.ListAsync(user, PathOf(path), cancellationToken).ConfigureAwait(false)).Select(SecureXferEndpoint.ToEntry)];

    public Task MkdirAsync(string path, CancellationToken cancellationToken)
    {
        files.Mkdir(user, PathOf(path));
        return Task.CompletedTask;
    }

    public Task DeleteAsync(string path, CancellationToken cancellationToken) =>
        files.RemoveAsync(user, PathOf(path), recursive: false, cancellationToken);

    public Task RenameAsync(string from, string to, CancellationToken cancellationToken) =>
        files.MoveAsync(user, PathOf(from), PathOf(to), overwrite: false, cancellationToken);

    public Task SetModifiedAsync(string path, DateTimeOffset modified, CancellationToken cancellationToken) =>
        files.SetModifiedAsync(user, PathOf(path), modified, cancellationToken);

    /// <summary>Copies the file into staging while hashing it, then commits it like any upload (quota, rename, record).</summary>
    public async Task<EndpointTransfer> UploadAsync(string localFile, string path, bool replace, IProgress<long>? progress, CancellationToken cancellationToken)
    {
        var target = PathOf(path);
        var staging = uploads.NewPutStagingPath();
        string sha256;
        long size;
        try
        {
            await using (var input = new FileStream(localFile, FileMode.Open, FileAccess.Read, FileShare.Read, 1, FileOptions.Asynchronous | FileOptions.SequentialScan))
            await using (var output = new FileStream(staging, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1, FileOptions.Asynchronous))
            {
                var modified = File.GetLastWriteTimeUtc(input.SafeFileHandle);
                using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
                var buffer = new byte[1 << 20];
                long copied = 0;
                int read;
                while ((read = await input.ReadAsync(buffer, cancellationToken).ConfigureAwait(false)) > 0)
                {
                    hash.AppendData(buffer, 0, read);
                    await output.WriteAsync(buffer.AsMemory(0, read), cancellationToken).ConfigureAwait(false);
                    copied += read;
                    progress?.Report(copied);
                }

                await output.FlushAsync(cancellationToken).ConfigureAwait(false);
                File.SetLastWriteTimeUtc(output.SafeFileHandle, modified);
                sha256 = HashText.ToHex(hash.GetHashAndReset());
                size = copied;
            }
        }
        catch
        {
            File.Delete(staging);
            throw;
        }

        await uploads.CommitStagedAsync(user, target, staging, size, sha256, replace).ConfigureAwait(false);
        return new EndpointTransfer(size, 0, sha256);
    }

    /// <summary>Copies a file of the user's out (to be sent on to a remote), checked against its recorded SHA-256.</summary>
    public async Task<EndpointTransfer> DownloadAsync(string path, string localFile, bool replace, IProgress<long>? progress, CancellationToken cancellationToken)
    {
        using var opened = await files.OpenReadAsync(user, PathOf(path), cancellationToken).ConfigureAwait(false);
        var partial = localFile + ".sxpart";
        try
        {
            await using (var output = new FileStream(partial, FileMode.Create, FileAccess.Write, FileShare.None, 1, FileOptions.Asynchronous))
            {
                using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
                var buffer = new byte[1 << 20];
                long offset = 0;
                while (offset < opened.Size)
                {
                    var read = await RandomAccess.ReadAsync(opened.Handle, buffer.AsMemory(0, (int)Math.Min(buffer.Length, opened.Size - offset)), offset, cancellationToken).ConfigureAwait(false);
                    if (read == 0)
                    {
                        break;
                    }

                    hash.AppendData(buffer, 0, read);
                    await output.WriteAsync(buffer.AsMemory(0, read), cancellationToken).ConfigureAwait(false);
                    offset += read;
                    progress?.Report(offset);
                }

                if (!HashText.Sha256Equals(HashText.ToHex(hash.GetHashAndReset()), opened.Sha256))
                {
                    throw new SxpException(ErrorCode.IntegrityFailed, $"'{path}' changed while it was being read; it is sent on the next run.");
                }

                File.SetLastWriteTimeUtc(output.SafeFileHandle, opened.ModifiedUtc);
            }

            File.Move(partial, localFile, overwrite: replace);
            return new EndpointTransfer(opened.Size, 0, opened.Sha256);
        }
        finally
        {
            File.Delete(partial);
        }
    }

    public ValueTask DisposeAsync() => ValueTask.CompletedTask;
}
