using Microsoft.Win32.SafeHandles;
using SecureXfer.Shared.Protocol;

namespace SecureXfer.Server.Storage;

/// <summary>Modification times a client asks for: checked once, then applied to an open file.</summary>
internal static class FileTimes
{
    private static readonly DateTime Earliest = new(1601, 1, 1, 0, 0, 0, DateTimeKind.Utc);
    private static readonly DateTime Latest = new(9000, 1, 1, 0, 0, 0, DateTimeKind.Utc);

    /// <summary>The time as UTC, or <see cref="ErrorCode.BadRequest"/> when it is before 1601 or absurdly far ahead.</summary>
    public static DateTime? Check(DateTimeOffset? modified)
    {
        if (modified is not { } value)
        {
            return null;
        }

        var utc = value.UtcDateTime;
        if (utc < Earliest || utc >= Latest)
        {
            throw new SxpException(ErrorCode.BadRequest, $"The modification time {value:O} is out of range (1601 to 9000).");
        }

        return utc;
    }

    public static void Apply(SafeFileHandle handle, DateTime? modifiedUtc)
    {
        if (modifiedUtc is { } value)
        {
            File.SetLastWriteTimeUtc(handle, value);
        }
    }
}
