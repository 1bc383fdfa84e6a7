// Blob containers: the storage service's view of a workspace's folders, so that clients that
// speak Azure Blob Storage (the Azure SDKs, through `amlemu serve`) read and write the same files
// runs mount. Every workspace has one storage account (storage_account_name) holding:
//   azureml-blobstore-<workspace id>   the datastore workspaceblobstore (its folder)
//   azureml-filestore-<workspace id>   the datastore workspacefilestore (its folder)
//   azureml                            run history, read-only: ExperimentRun/dcid.<run id>/<file>
//   <workspace id>-<16 hex>            upload containers made for code assets
// A blob is a file; its content type, MD5 and user metadata are kept beside it. Writes are atomic:
// a blob is never visible half-written, and a crash leaves the old blob or none.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "amlemu/errors.hpp"
#include "amlemu/workspace.hpp"

namespace amlemu {

/// The storage account name of a workspace: "amlemu" and 16 hex digits of its identity (a valid
/// Azure account name), the same across restarts.
std::string storage_account_name(const Workspace& ws);
std::string storage_account_name(const std::string& subscription_id,
                                 const std::string& resource_group, const std::string& workspace);

/// Removes what blob writes interrupted by a crash left in the workspace's staging folder:
/// staged files of processes that are gone, and blocks never committed after a week. Such
/// leftovers are never visible as blobs; this reclaims their space (amlemu serve calls it at
/// start).
void recover_blob_writes(const Workspace& ws);

struct BlobInfo {
  std::string name;
  std::uint64_t size = 0;
  std::string etag;              // quoted, e.g. "\"0x1A2B...\"", stable while the blob is unchanged
  std::int64_t modified_ms = 0;  // epoch milliseconds
  std::string content_type = "application/octet-stream";
  std::string content_md5;  // base64 of the MD5 the writer gave, "" when none was given
  std::map<std::string, std::string> metadata;  // names as written
};

struct BlobListing {
  std::vector<BlobInfo> blobs;        // by name
  std::vector<std::string> prefixes;  // "<prefix>...<delimiter>" groups, when a delimiter is given
  std::string next_marker;            // where the next page starts; "" after the last page
};

/// What a write gives besides the bytes.
struct BlobWrite {
  std::string content_type;
  std::string content_md5;
  std::map<std::string, std::string> metadata;
  bool only_if_absent = false;  // If-None-Match: *
};

/// Why a blob operation was refused; the server maps each to Azure Storage's error code.
class BlobException : public UserErrorException {
 public:
  enum class Kind { blob_not_found, exists, read_only, invalid_name, conflict, invalid_block_list };
  BlobException(Kind kind, const std::string& message) : UserErrorException(message), kind_(kind) {}
  Kind kind() const { return kind_; }

 private:
  Kind kind_;
};

class BlobContainer {
 public:
  /// The container of that name in the workspace's account; nullopt when there is none.
  static std::optional<BlobContainer> open(const Workspace& ws, const std::string& name);
  /// The container behind a datastore (NotFoundException for an unknown datastore).
  static BlobContainer of_datastore(const Workspace& ws, const std::string& datastore);
  /// A new, empty upload container "<workspace id>-<16 hex>" (for a code asset's files).
  static BlobContainer create_upload_container(const Workspace& ws);

  const std::string& name() const { return name_; }
  bool writable() const { return writable_; }
  /// Where the files under `prefix` are on this machine (a folder or a file; for runs to use).
  /// Throws BlobException(invalid_name) for a path that leaves the container.
  std::filesystem::path local_path(const std::string& prefix) const;

  /// The blob's properties, or nullopt (also for names ending in '/', and folders).
  std::optional<BlobInfo> stat(const std::string& name) const;
  /// Put Blob: replaces the blob (and its metadata) with `data`.
  BlobInfo put(const std::string& name, std::string_view data, const BlobWrite& write) const;
  /// Put Block: stages a block of `name` until a block list commits it.
  void put_block(const std::string& name, const std::string& block_id, std::string_view data) const;
  /// Put Block List: the blob becomes the named staged (or committed) blocks, in order.
  BlobInfo put_block_list(const std::string& name, const std::vector<std::string>& block_ids,
                          const BlobWrite& write) const;
  /// Bytes [offset, offset + length) of the blob (fewer at its end).
  std::string read(const std::string& name, std::uint64_t offset, std::uint64_t length) const;
  /// Set Blob Metadata: replaces the user metadata.
  BlobInfo set_metadata(const std::string& name, const std::map<std::string, std::string>& metadata) const;
  /// List Blobs: names starting with `prefix`, after `marker`, at most `max_results`; with a
  /// delimiter, names with it after the prefix are grouped into prefixes.
  BlobListing list(const std::string& prefix, const std::string& delimiter,
                   const std::string& marker, int max_results, bool with_metadata) const;
  /// Delete Blob.
  void remove(const std::string& name) const;

 private:
  BlobContainer(Workspace ws, std::string name, std::filesystem::path root, bool writable,
                bool run_history)
      : ws_(std::move(ws)), name_(std::move(name)), root_(std::move(root)), writable_(writable),
        run_history_(run_history) {}
  std::filesystem::path file_of(const std::string& name) const;
  void check_writable() const;
  BlobInfo written(const std::string& name) const;
  Workspace ws_;
  std::string name_;
  std::filesystem::path root_;
  bool writable_;
  bool run_history_;  // the `azureml` container: ExperimentRun/dcid.<run>/<file>
};

}  // namespace amlemu
