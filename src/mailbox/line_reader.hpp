// line_reader — buffered reading of a file descriptor line by line, in bounded memory however
// long the lines or the file.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace relaygate::mailbox {

// What read_line() saw of one line.
struct LineInfo {
    std::uint64_t length = 0;   // bytes of the whole line, its line end included
    std::size_t stored = 0;     // bytes of it appended to the caller's string
    bool has_line_end = false;  // false only for a last line cut off by the end of input
    std::string prefix;         // the first kPrefixBytes of the line, however much was stored
};

class LineReader {
public:
    // From_ lines are recognised by their first bytes; longer lines are never From_ lines
    // worth the name (a sender and a date fit well within this).
    static constexpr std::size_t kPrefixBytes = 512;
    static constexpr std::size_t kBufferBytes = 64u << 10;

    explicit LineReader(int fd);

    // Reads the next line and appends at most budget bytes of it to out (the rest of the line
    // is consumed and dropped); false at the end of input or after a read error.
    bool read_line(std::string& out, std::size_t budget, LineInfo& info);

    // Appends at most budget raw bytes to out; 0 at the end of input or after a read error.
    std::size_t read_some(std::string& out, std::size_t budget);

    // True when the unread input starts with text (reads ahead as needed).
    bool starts_with(std::string_view text);

    // True when no byte is left (reads ahead one buffer to find out).
    bool at_end();

    std::uint64_t offset() const { return offset_; }  // bytes consumed so far
    int read_error() const { return error_; }         // errno of a failed read, else 0

private:
    bool fill();

    int fd_;
    std::vector<char> buffer_;
    std::size_t begin_ = 0;
    std::size_t end_ = 0;
    bool eof_ = false;
    int error_ = 0;
    std::uint64_t offset_ = 0;
};

}  // namespace relaygate::mailbox
