namespace SecureXfer.Cli.Output;

/// <summary>
/// Progress of a batch of transfers, one file at a time. The silent kind does nothing; the
/// live kind (a Spectre.Console bar on stderr) is only created, and its assembly only
/// loaded, when a terminal will show it.
/// </summary>
internal abstract class TransferProgress
{
    /// <summary>A sink for the bytes in place so far of the file that starts now.</summary>
    public abstract IProgress<long>? Start(string label, long size);

    public abstract void Finish(long size);

    public static Task<T> RunAsync<T>(bool live, int files, long totalBytes, Func<TransferProgress, Task<T>> work) =>
        live ? LiveProgress.RunAsync(files, totalBytes, work) : work(Silent.Instance);

    private sealed class Silent : TransferProgress
    {
        public static readonly Silent Instance = new();

        public override IProgress<long>? Start(string label, long size) => null;

        public override void Finish(long size)
        {
        }
    }
}
