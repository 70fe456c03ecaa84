// directory_walker — Maildirs (cur/ then new/, tmp/ ignored) and directory trees walked
// depth first in sorted order, without following a directory twice.

#include "mailbox/directory_walker.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <dirent.h>
#include <sys/stat.h>

namespace relaygate::mailbox {
namespace {

// Hidden files (editor and tool droppings, Maildir++ subfolders) and Dovecot's index, cache
// and uidlist files hold no messages.
bool is_skipped_name(std::string_view name)
{
    return name.empty() || name.front() == '.' || name.substr(0, 7) == "dovecot";
}

bool is_directory(const std::string& path)
{
    struct stat info;
    return ::stat(path.c_str(), &info) == 0 && S_ISDIR(info.st_mode);
}

std::string join(const std::string& directory, std::string_view name)
{
    std::string path = directory;
    if (path.empty() || path.back() != '/')
        path += '/';
    path += name;
    return path;
}

}  // namespace

bool is_maildir(const std::string& path)
{
    return is_directory(join(path, "cur")) && is_directory(join(path, "new"));
}

std::string_view DirectoryWalker::NameList::at(std::size_t i) const
{
    return std::string_view(blob.data() + offsets[i]);
}

DirectoryWalker::DirectoryWalker(const std::string& root, std::vector<std::string>& errors)
    : errors_(errors)
{
    struct stat info;
    if (::stat(root.c_str(), &info) != 0) {
        errors_.push_back("cannot read directory " + root + ": " + std::strerror(errno));
        return;
    }
    enter(root, info.st_dev, info.st_ino);
}

// Adds the names in directory (hidden and Dovecot files left out), each after prefix, sorted.
bool DirectoryWalker::list_into(const std::string& directory, std::string_view prefix,
                                NameList& names)
{
    DIR* handle = ::opendir(directory.c_str());
    if (!handle) {
        errors_.push_back("cannot read directory " + directory + ": " + std::strerror(errno));
        return false;
    }

    std::size_t first = names.offsets.size();
    errno = 0;
    while (const dirent* entry = ::readdir(handle)) {
        if (is_skipped_name(entry->d_name))
            continue;
        names.offsets.push_back(static_cast<std::uint32_t>(names.blob.size()));
        names.blob += prefix;
        names.blob += entry->d_name;
        names.blob += '\0';
    }
    int read_errno = errno;
    ::closedir(handle);
    if (read_errno != 0)
        errors_.push_back("cannot read directory " + directory + ": " +
                          std::strerror(read_errno));

    std::sort(names.offsets.begin() + static_cast<std::ptrdiff_t>(first), names.offsets.end(),
              [&](std::uint32_t a, std::uint32_t b) {
                  return std::string_view(names.blob.data() + a) <
                         std::string_view(names.blob.data() + b);
              });
    return true;
}

bool DirectoryWalker::on_stack(dev_t device, ino_t inode) const
{
    return std::any_of(stack_.begin(), stack_.end(), [&](const Frame& frame) {
        return frame.device == device && frame.inode == inode;
    });
}

// Pushes a frame for a directory; a Maildir lists cur/ then new/, each sorted by name.
void DirectoryWalker::enter(const std::string& path, dev_t device, ino_t inode)
{
    Frame frame;
    frame.path = path;
    frame.device = device;
    frame.inode = inode;
    frame.maildir = is_maildir(path);
    if (frame.maildir) {
        list_into(join(path, "cur"), "cur/", frame.names);
        list_into(join(path, "new"), "new/", frame.names);
    } else if (!list_into(path, "", frame.names)) {
        return;
    }
    visited_.emplace(device, inode);
    stack_.push_back(std::move(frame));
}

bool DirectoryWalker::next(std::string& path)
{
    while (!stack_.empty()) {
        Frame& frame = stack_.back();
        if (frame.next == frame.names.offsets.size()) {
            stack_.pop_back();
            continue;
        }
        std::string candidate = join(frame.path, frame.names.at(frame.next++));
        bool in_maildir = frame.maildir;

        struct stat info;
        if (::stat(candidate.c_str(), &info) != 0) {
            errors_.push_back("cannot open " + candidate + ": " + std::strerror(errno));
            continue;
        }
        if (S_ISREG(info.st_mode)) {
            path = std::move(candidate);
            return true;
        }
        // Sockets, FIFOs and devices are no messages (and opening a FIFO would block).
        if (!S_ISDIR(info.st_mode) || in_maildir)
            continue;

        if (on_stack(info.st_dev, info.st_ino)) {
            errors_.push_back("symlink loop at " + candidate);
            continue;
        }
        // A directory reached a second time through another link was read already.
        if (visited_.count(std::make_pair(info.st_dev, info.st_ino)) != 0)
            continue;
        enter(candidate, info.st_dev, info.st_ino);
    }
    return false;
}

}  // namespace relaygate::mailbox
