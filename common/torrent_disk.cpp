#include "common/torrent_disk.hpp"

#include <cerrno>

namespace blobswarm {

lt::storage_error disk_error(int err, lt::operation_t op, lt::file_index_t file) {
  return lt::storage_error(lt::error_code(err, lt::system_category()), file, op);
}

lt::storage_error disk_unsupported(lt::operation_t op) {
  return disk_error(ENOTSUP, op);
}

void disk_io_base::async_move_storage(
    lt::storage_index_t, std::string p, lt::move_flags_t,
    std::function<void(lt::status_t, std::string const&, lt::storage_error const&)> handler) {
  complete([p = std::move(p), handler = std::move(handler)] {
    handler(lt::status_t::fatal_disk_error, p, disk_unsupported(lt::operation_t::file_rename));
  });
}

void disk_io_base::async_rename_file(
    lt::storage_index_t, lt::file_index_t index, std::string name,
    std::function<void(std::string const&, lt::file_index_t, lt::storage_error const&)> handler) {
  complete([index, name = std::move(name), handler = std::move(handler)] {
    handler(name, index, disk_unsupported(lt::operation_t::file_rename));
  });
}

void disk_io_base::async_set_file_priority(
    lt::storage_index_t, lt::aux::vector<lt::download_priority_t, lt::file_index_t> prio,
    std::function<void(lt::storage_error const&,
                       lt::aux::vector<lt::download_priority_t, lt::file_index_t>)>
        handler) {
  complete([prio = std::move(prio), handler = std::move(handler)]() mutable {
    handler(lt::storage_error(), std::move(prio));
  });
}

void disk_io_base::async_hash2(
    lt::storage_index_t, lt::piece_index_t piece, int, lt::disk_job_flags_t,
    std::function<void(lt::piece_index_t, lt::sha256_hash const&, lt::storage_error const&)>
        handler) {
  complete([piece, handler = std::move(handler)] {
    handler(piece, lt::sha256_hash(), disk_unsupported(lt::operation_t::file_read));
  });
}

void disk_io_base::async_clear_piece(lt::storage_index_t, lt::piece_index_t index,
                                     std::function<void(lt::piece_index_t)> handler) {
  complete([index, handler = std::move(handler)] { handler(index); });
}

}  // namespace blobswarm
