using SecureXfer.Shared.Paths;

namespace SecureXfer.Tests.Protocol;

public sealed class RemotePathTests
{
    [Theory]
    [InlineData(null, "/")]
    [InlineData("", "/")]
    [InlineData("/", "/")]
    [InlineData("a", "/a")]
    [InlineData("//a///b/", "/a/b")]
    [InlineData("/a/./b/.", "/a/b")]
    [InlineData("/...", "/...")]
    [InlineData("/a..b", "/a..b")]
    [InlineData("/cafe\u0301", "/caf\u00e9")]
    public void Accepted_paths_take_one_canonical_form(string? input, string expected)
    {
        Assert.True(RemotePath.TryParse(input, out var path, out _));
        Assert.Equal(expected, path.Value);
    }

    [Theory]
    [InlineData("..")]
    [InlineData("/a/../b")]
    [InlineData("a\\b")]
    [InlineData("a\0")]
    [InlineData("a\u0001b")]
    [InlineData("a\u007fb")]
    [InlineData("a\u0085b")]
    public void Traversal_separators_and_control_characters_are_refused(string input)
    {
        Assert.False(RemotePath.TryParse(input, out _, out var error));
        Assert.False(string.IsNullOrEmpty(error));
    }

    [Fact]
    public void Overlong_paths_and_segments_are_refused()
    {
        Assert.False(RemotePath.TryParse("/" + new string('a', 256), out _, out _));
        Assert.True(RemotePath.TryParse("/" + new string('a', 255), out _, out _));
        Assert.False(RemotePath.TryParse(string.Join('/', Enumerable.Repeat("abcdefgh", 600)), out _, out _));
    }

    [Fact]
    public void Containment_is_separator_aware()
    {
        var docs = RemotePath.Parse("/docs");
        Assert.True(RemotePath.Parse("/docs/a").IsSameOrBelow(docs));
        Assert.True(docs.IsSameOrBelow(docs));
        Assert.False(RemotePath.Parse("/docs2/a").IsSameOrBelow(docs));
        Assert.Equal("/docs", RemotePath.Parse("/docs/a").Parent.Value);
        Assert.Equal("a", RemotePath.Parse("/docs/a").Name);
    }
}
