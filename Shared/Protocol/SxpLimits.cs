namespace SecureXfer.Shared.Protocol;

/// <summary>Protocol constants and the hard limits both sides enforce.</summary>
public static class SxpLimits
{
    public const string Alpn = "sxp/1";
    public const int Version = 1;

    public const int HeaderSize = 12;

    /// <summary>Bytes in front of the file bytes in a DATA frame: offset (8) and CRC32C (4).</summary>
    public const int DataPrefixSize = 12;

    public const int MinChunkSize = 64 * 1024;
    public const int MaxChunkSize = 16 * 1024 * 1024;
    public const int DefaultChunkSize = 4 * 1024 * 1024;

    /// <summary>Largest file a single PUT frame may carry; larger files use a chunked upload.</summary>
    public const int MaxPutSize = 1024 * 1024;

    /// <summary>PUTs of one connection whose answers are still outstanding; beyond this the server reads no further.</summary>
    public const int MaxPutsInFlight = 256;

    /// <summary>Largest payload a control (JSON) frame may carry.</summary>
    public const int MaxControlPayload = 4 * 1024 * 1024;

    /// <summary>Largest payload of any frame. Checked before any buffer is sized from the header.</summary>
    public const int MaxPayload = MaxChunkSize + DataPrefixSize;

    /// <summary>Before HELLO, nothing but a small control frame is accepted.</summary>
    public const int MaxPayloadBeforeHello = 16 * 1024;
}
