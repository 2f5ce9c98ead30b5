using SecureXfer.Shared.Endpoints;
using SecureXfer.Shared.Endpoints.Ftp;

namespace SecureXfer.Tests.Interop;

/// <summary>The listing formats FTP servers send: RFC 3659 facts, Unix LIST and DOS LIST.</summary>
public sealed class FtpListingTests
{
    private static readonly DateTimeOffset Now = new(2026, 11, 22, 12, 0, 0, TimeSpan.Zero);

    [Theory]
    [InlineData("type=file;size=1234;modify=20261122051500; report q3.pdf", "report q3.pdf", EntryKind.File, 1234, "2026-11-22T05:15:00Z")]
    [InlineData("Type=dir;Modify=20250101000000.250;Perm=el; docs", "docs", EntryKind.Directory, 0, "2025-01-01T00:00:00.25Z")]
    [InlineData("type=OS.unix=symlink;size=9;modify=20250101000000; link", "link", EntryKind.Other, 0, "2025-01-01T00:00:00Z")]
    public void Facts_are_read(string line, string name, EntryKind kind, long size, string modified)
    {
        var entry = FtpListing.ParseFacts(line)!;
        Assert.Equal((name, kind, size), (entry.Name, entry.Kind, entry.Size));
        Assert.Equal(DateTimeOffset.Parse(modified, System.Globalization.CultureInfo.InvariantCulture), entry.Modified);
    }

    [Theory]
    [InlineData("type=cdir;modify=20250101000000; .")]
    [InlineData("type=pdir;modify=20250101000000; ..")]
    [InlineData("no facts here")]
    [InlineData("type=file;size=1;")]
    public void The_directory_itself_and_garbage_are_skipped(string line) => Assert.Null(FtpListing.ParseFacts(line));

    [Theory]
    [InlineData("-rw-r--r--    1 1001     1001         1234 Nov 20 05:15 notes.txt", "notes.txt", EntryKind.File, 1234, "2026-11-20T05:15:00Z")]
    [InlineData("-rw-r--r--    1 ftp      ftp            42 Dec 24 18:00 old year.txt", "old year.txt", EntryKind.File, 42, "2025-12-24T18:00:00Z")]
    [InlineData("drwxr-xr-x    2 owner    group        4096 Mar  3  2021 archive", "archive", EntryKind.Directory, 0, "2021-03-03T00:00:00Z")]
    [InlineData("lrwxrwxrwx    1 owner    group          11 Jan  1  2024 current -> archive/x", "current", EntryKind.Other, 0, "2024-01-01T00:00:00Z")]
    [InlineData("11-20-26  05:15AM       <DIR>          Shared Docs", "Shared Docs", EntryKind.Directory, 0, "2026-11-20T05:15:00Z")]
    [InlineData("11-20-26  05:15PM              1,234 budget.xlsx", "budget.xlsx", EntryKind.File, 1234, "2026-11-20T17:15:00Z")]
    public void List_lines_are_read(string line, string name, EntryKind kind, long size, string modified)
    {
        var entry = FtpListing.ParseList(line, Now)!;
        Assert.Equal((name, kind, size), (entry.Name, entry.Kind, entry.Size));
        Assert.Equal(DateTimeOffset.Parse(modified, System.Globalization.CultureInfo.InvariantCulture), entry.Modified);
    }

    [Theory]
    [InlineData("total 12")]
    [InlineData("drwxr-xr-x    2 owner    group        4096 Mar  3  2021 .")]
    [InlineData("drwxr-xr-x    2 owner    group        4096 Mar  3  2021 ..")]
    [InlineData("-rw-r--r--    1 owner    group         abc Mar  3  2021 bad-size")]
    [InlineData("-rw-r--r--    1 owner    group          12 Foo  3  2021 bad-month")]
    [InlineData("")]
    public void Lines_that_fit_no_format_are_skipped(string line) => Assert.Null(FtpListing.ParseList(line, Now));

    [Fact]
    public void Times_round_trip_in_the_wire_format()
    {
        var time = new DateTimeOffset(2024, 2, 29, 23, 59, 58, TimeSpan.Zero);
        Assert.Equal("20240229235958", FtpListing.FormatTime(time));
        Assert.Equal(time, FtpListing.ParseTime(FtpListing.FormatTime(time)));
        Assert.Null(FtpListing.ParseTime("2024-02-29"));
    }
}
