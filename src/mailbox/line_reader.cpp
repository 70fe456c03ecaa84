// line_reader — buffered reading of a file descriptor line by line.

#include "mailbox/line_reader.hpp"

#include <cerrno>
#include <cstring>
#include <unistd.h>

namespace relaygate::mailbox {

LineReader::LineReader(int fd) : fd_(fd), buffer_(kBufferBytes) {}

// Moves unread bytes to the front and reads more after them; false when nothing was added.
bool LineReader::fill()
{
    if (eof_ || error_)
        return false;
    if (begin_ > 0) {
        std::memmove(buffer_.data(), buffer_.data() + begin_, end_ - begin_);
        end_ -= begin_;
        begin_ = 0;
    }
    if (end_ == buffer_.size())
        return false;

    while (true) {
        ssize_t got = ::read(fd_, buffer_.data() + end_, buffer_.size() - end_);
        if (got > 0) {
            end_ += static_cast<std::size_t>(got);
            return true;
        }
        if (got == 0) {
            eof_ = true;
            return false;
        }
        if (errno != EINTR) {
            error_ = errno;
            return false;
        }
    }
}

bool LineReader::read_line(std::string& out, std::size_t budget, LineInfo& info)
{
    info.length = 0;
    info.stored = 0;
    info.has_line_end = false;
    info.prefix.clear();

    while (true) {
        if (begin_ == end_ && !fill())
            return info.length > 0;

        const char* start = buffer_.data() + begin_;
        std::size_t available = end_ - begin_;
        const void* newline = std::memchr(start, '\n', available);
        std::size_t chunk = newline ? static_cast<const char*>(newline) - start + 1 : available;

        std::size_t to_store = std::min(chunk, budget - info.stored);
        out.append(start, to_store);
        info.stored += to_store;
        std::size_t to_prefix = std::min(chunk, kPrefixBytes - info.prefix.size());
        info.prefix.append(start, to_prefix);
        info.length += chunk;
        begin_ += chunk;
        offset_ += chunk;

        if (newline) {
            info.has_line_end = true;
            return true;
        }
    }
}

std::size_t LineReader::read_some(std::string& out, std::size_t budget)
{
    if (begin_ == end_ && !fill())
        return 0;
    std::size_t chunk = std::min(end_ - begin_, budget);
    out.append(buffer_.data() + begin_, chunk);
    begin_ += chunk;
    offset_ += chunk;
    return chunk;
}

bool LineReader::starts_with(std::string_view text)
{
    while (end_ - begin_ < text.size() && fill()) {
    }
    std::size_t available = end_ - begin_;
    return available >= text.size() &&
           std::string_view(buffer_.data() + begin_, text.size()) == text;
}

bool LineReader::at_end()
{
    return begin_ == end_ && !fill();
}

}  // namespace relaygate::mailbox
