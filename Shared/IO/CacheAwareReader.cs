using Microsoft.Win32.SafeHandles;

namespace SecureXfer.Shared.IO;

/// <summary>
/// Reads a file for sending: a range wholly in the page cache is copied from there; a range that
/// is not is read unbuffered instead of being pulled through the cache first, which on a busy
/// or virtualised host costs more than the read itself. Unbuffered reads into a caller's
/// unaligned buffer go through a read-ahead window of <see cref="Window"/> bytes, so small reads
/// do not each wait for the device. Falls back to ordinary reads wherever unbuffered ones are not possible.
/// </summary>
public sealed class CacheAwareReader(SafeFileHandle file, bool unbuffered = true) : IDisposable
{
    public const int Window = 4 * 1024 * 1024;

    private SafeFileHandle? _direct;
    private AlignedBuffer? _window;
    private long _windowStart;
    private int _windowLength;
    private bool _directTried;

    /// <summary>Reads up to <paramref name="destination"/>.Length bytes at <paramref name="offset"/>; 0 at the end of the file.</summary>
    public int Read(Memory<byte> destination, long offset)
    {
        if (destination.IsEmpty)
        {
            return 0;
        }

        if (!unbuffered)
        {
            return RandomAccess.Read(file, destination.Span, offset);
        }

        if (_windowLength > 0 && offset >= _windowStart && offset < _windowStart + _windowLength)
        {
            return FromWindow(destination, offset);
        }

        if (DirectIo.IsAligned(offset, 0) && Direct() is { } direct && !DirectIo.IsCached(file, offset, destination.Length))
        {
            try
            {
                if (DirectIo.IsAligned(destination))
                {
                    return RandomAccess.Read(direct, destination.Span, offset);
                }

                _window ??= AlignedBuffer.Rent(Window);
                _windowStart = offset;
                _windowLength = 0;
                _windowLength = RandomAccess.Read(direct, _window.Span[..Window], offset);
                return _windowLength == 0 ? 0 : FromWindow(destination, offset);
            }
            catch (IOException)
            {
                // The file system took O_DIRECT at open but refuses the reads: ordinary reads from now on.
                direct.Dispose();
                _direct = null;
                _windowLength = 0;
            }
        }

        // Through the cache. From an unaligned offset, only up to the next boundary, so the reads after this one can be unbuffered.
        var length = destination.Length;
        if (!DirectIo.IsAligned(offset, 0) && Direct() is not null)
        {
            length = (int)Math.Min(length, DirectIo.RoundUp(offset) - offset);
        }

        return RandomAccess.Read(file, destination.Span[..length], offset);
    }

    public void Dispose()
    {
        _direct?.Dispose();
        _window?.Dispose();
    }

    private int FromWindow(Memory<byte> destination, long offset)
    {
        var skip = (int)(offset - _windowStart);
        var count = Math.Min(destination.Length, _windowLength - skip);
        _window!.Span.Slice(skip, count).CopyTo(destination.Span);
        return count;
    }

    private SafeFileHandle? Direct()
    {
        if (!_directTried)
        {
            _directTried = true;
            _direct = DirectIo.TryReopen(file, writable: false);
        }

        return _direct;
    }
}
