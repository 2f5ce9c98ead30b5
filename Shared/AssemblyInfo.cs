using System.Runtime.Versioning;

// Unix file modes guard secrets and staged data; the product runs on Unix-like systems.
[assembly: SupportedOSPlatform("linux")]
[assembly: SupportedOSPlatform("macos")]
