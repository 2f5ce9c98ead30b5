using Microsoft.Win32.SafeHandles;

namespace SecureXfer.Shared.IO;

/// <summary>
/// Reads a file for sending: bytes already in the page cache are copied from there; bytes that
/// are not are read unbuffered instead of being pulled through the cache first, which on a busy
/// or virtualised host costs more than the read itself. Falls back to ordinary reads wherever
/// unbuffered ones are not possible.
/// </summary>
public sealed class CacheAwareReader(SafeFileHandle file, bool unbuffered = true) : IDisposable
{
    private SafeFileHandle? _direct;
    private AlignedBuffer? _scratch;
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

        var cached = DirectIo.ReadIfCached(file, destination.Span, offset);
        if (cached > 0)
        {
            return cached;
        }

        if (DirectIo.IsAligned(offset, 0) && Direct() is { } direct)
        {
            try
            {
                return ReadUnbuffered(direct, destination, offset);
            }
            catch (IOException)
            {
                // The file system took O_DIRECT at open but refuses the reads: ordinary reads from now on.
                direct.Dispose();
                _direct = null;
            }
        }

        // Unaligned: read up to the next boundary, so the reads after this one can be unbuffered.
        var toBoundary = DirectIo.RoundUp(offset + 1) - offset;
        var length = Direct() is null ? destination.Length : (int)Math.Min(destination.Length, toBoundary);
        return RandomAccess.Read(file, destination.Span[..length], offset);
    }

    public void Dispose()
    {
        _direct?.Dispose();
        _scratch?.Dispose();
    }

    private int ReadUnbuffered(SafeFileHandle direct, Memory<byte> destination, long offset)
    {
        if (DirectIo.IsAligned(destination))
        {
            return RandomAccess.Read(direct, destination.Span, offset);
        }

        var want = (int)DirectIo.RoundUp(destination.Length);
        if (_scratch is null || _scratch.Capacity < want)
        {
            _scratch?.Dispose();
            _scratch = AlignedBuffer.Rent(want);
        }

        var read = Math.Min(RandomAccess.Read(direct, _scratch.Span[..want], offset), destination.Length);
        _scratch.Span[..read].CopyTo(destination.Span);
        return read;
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
