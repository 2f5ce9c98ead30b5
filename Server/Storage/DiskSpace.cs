using Microsoft.Extensions.Options;
using SecureXfer.Server.Configuration;
using SecureXfer.Shared.Protocol;

namespace SecureXfer.Server.Storage;

/// <summary>
/// Keeps <see cref="SecureXferOptions.StorageReserveBytes"/> of the data directory's file system
/// free for what must keep working when uploads have used the rest: the database (logins,
/// refresh tokens, audit records), commits, and logs. New upload data that would eat into that
/// reserve is refused with StorageFull before a byte is written.
/// </summary>
public sealed class DiskSpace(DataDirectory data, IOptions<SecureXferOptions> options)
{
    public long Available => new DriveInfo(data.Root).AvailableFreeSpace;

    public void EnsureRoom(long bytes)
    {
        var reserve = Math.Max(0, options.Value.StorageReserveBytes);
        if (Available - bytes < reserve)
        {
            throw new SxpException(ErrorCode.StorageFull, "The server is out of disk space.");
        }
    }
}
