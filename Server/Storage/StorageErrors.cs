using SecureXfer.Server.Persistence;

namespace SecureXfer.Server.Storage;

/// <summary>Recognises storage failures that deserve their own answer.</summary>
public static class StorageErrors
{
    private const int Enospc = 28;
    private const int Edquot = 122;

    public static bool IsDiskFull(IOException exception)
    {
        var code = exception.HResult & 0xFFFF;
        return code is Enospc or Edquot
            || exception.Message.Contains("No space left", StringComparison.OrdinalIgnoreCase)
            || exception.Message.Contains("quota exceeded", StringComparison.OrdinalIgnoreCase);
    }

    /// <summary>A file write or a database write (however wrapped) that failed for want of space.</summary>
    public static bool IsStorageFull(Exception exception)
    {
        for (var current = exception; current is not null; current = current.InnerException)
        {
            if ((current is IOException io && IsDiskFull(io)) || DbErrors.IsDiskFull(current))
            {
                return true;
            }
        }

        return false;
    }
}
