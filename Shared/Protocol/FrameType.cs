namespace SecureXfer.Shared.Protocol;

/// <summary>Frame types of SXP/1. The numbering is part of the wire format: never reuse a value.</summary>
public enum FrameType : byte
{
    Hello = 0x01,
    HelloOk = 0x02,
    Auth = 0x03,
    AuthOk = 0x04,
    Ping = 0x05,
    Pong = 0x06,

    Stat = 0x10,
    StatOk = 0x11,
    List = 0x12,
    ListOk = 0x13,
    Mkdir = 0x14,
    Remove = 0x15,
    Move = 0x16,
    SetModified = 0x17,
    Ok = 0x1F,

    UploadOpen = 0x20,
    UploadReady = 0x21,
    UploadAttach = 0x22,
    Data = 0x23,
    ChunkAck = 0x24,
    UploadCommit = 0x25,
    UploadDone = 0x26,
    UploadAbort = 0x27,
    Put = 0x28,

    DownloadOpen = 0x30,
    DownloadReady = 0x31,
    DownloadEnd = 0x32,

    Error = 0x7F,
}

/// <summary>Flag bits of the frame header.</summary>
[Flags]
public enum FrameFlags : byte
{
    None = 0,

    /// <summary>More frames of the same response follow (used by LIST_OK).</summary>
    More = 0x01,
}
