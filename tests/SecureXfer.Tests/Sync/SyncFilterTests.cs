using SecureXfer.Shared.Sync;

namespace SecureXfer.Tests.Sync;

/// <summary>The .gitignore-style rules of --exclude, --include and .sxferignore.</summary>
public sealed class SyncFilterTests
{
    private static SyncFilter Excluding(params string[] patterns) => SyncFilter.Create(patterns, []);

    [Theory]
    [InlineData("*.tmp", "a.tmp", false, true)]
    [InlineData("*.tmp", "deep/down/a.tmp", false, true)] // no '/': a name at any depth
    [InlineData("*.tmp", "a.tmp.txt", false, false)]
    [InlineData("build/", "build", true, true)]
    [InlineData("build/", "build", false, false)] // trailing '/': directories only
    [InlineData("build/", "src/build", true, true)]
    [InlineData("/build", "src/build", true, false)] // leading '/': anchored to the root
    [InlineData("docs/*.md", "docs/a.md", false, true)]
    [InlineData("docs/*.md", "docs/sub/a.md", false, false)] // '*' stays within one name
    [InlineData("docs/**/*.md", "docs/sub/deeper/a.md", false, true)]
    [InlineData("**/cache", "x/y/cache", true, true)]
    [InlineData("file?.txt", "file1.txt", false, true)]
    [InlineData("file?.txt", "file10.txt", false, false)]
    [InlineData("[ab].txt", "b.txt", false, true)]
    [InlineData("[!ab].txt", "b.txt", false, false)]
    [InlineData("(x|y)+", "xxxx", false, false)] // regex characters are literal
    [InlineData("(x|y)+", "(x|y)+", false, true)]
    public void Exclude_patterns_match_like_gitignore(string pattern, string path, bool isDirectory, bool excluded) =>
        Assert.Equal(excluded, Excluding(pattern).Excludes(path, isDirectory));

    [Fact]
    public void An_ignore_file_applies_below_its_directory_and_negation_re_includes()
    {
        var filter = SyncFilter.None
            .WithIgnoreFile(string.Empty, "# comment\n\n*.log\n!keep.log\n")
            .WithIgnoreFile("sub", "secret.txt\r\n");
        Assert.True(filter.Excludes("a.log", false));
        Assert.False(filter.Excludes("keep.log", false));
        Assert.True(filter.Excludes("sub/secret.txt", false));
        Assert.False(filter.Excludes("secret.txt", false));
        Assert.False(filter.Excludes("subway/secret.txt", false));
    }

    [Fact]
    public void Command_line_excludes_win_over_ignore_file_negations()
    {
        var filter = SyncFilter.Create(["*.log"], []).WithIgnoreFile(string.Empty, "!keep.log\n");
        Assert.True(filter.Excludes("keep.log", false));
    }

    [Fact]
    public void Includes_narrow_files_but_not_directories()
    {
        var filter = SyncFilter.Create(["drafts/"], ["*.md"]);
        Assert.False(filter.Excludes("docs", true));
        Assert.False(filter.Excludes("docs/a.md", false));
        Assert.True(filter.Excludes("docs/a.txt", false));
        Assert.True(filter.Excludes("drafts", true));
    }

    [Fact]
    public void An_empty_pattern_is_refused() =>
        Assert.Throws<ArgumentException>(() => Excluding("/"));
}
