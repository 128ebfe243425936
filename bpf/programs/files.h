/* SPDX-License-Identifier: GPL-2.0 */
/*
 * files.h - file actions: opens (the hot path), symlink, memfd, actions on
 * a file descriptor or on one or two paths, and the path epoch.
 */
#ifndef MIZAN_BPF_PROGRAMS_FILES_H
#define MIZAN_BPF_PROGRAMS_FILES_H

static __always_inline __u32 open_actions(__u64 flags)
{
    __u32 a = MZ_FA_OPEN;
    switch (flags & 3) {
    case 0: /* O_RDONLY */
        a |= MZ_FA_READ;
        break;
    case 1: /* O_WRONLY */
        a |= MZ_FA_WRITE;
        break;
    default: /* O_RDWR */
        a |= MZ_FA_READ | MZ_FA_WRITE;
        break;
    }
    if (flags & 0100) /* O_CREAT */
        a |= MZ_FA_CREATE;
    if (flags & 01000) /* O_TRUNC */
        a |= MZ_FA_TRUNCATE;
    return a;
}

/* Opens are keyed by the opened file's identity, not by its path: a
 * repeated open then reads no user memory (reading the caller's path string
 * costs more than everything else an open does here) and hashes no string.
 * The identity is a keyed mix of the file's mount, its dentry and the
 * dentry's name hash, which the kernel salts with the parent dentry: a file
 * renamed or moved to another directory gets a new identity, and a freed
 * dentry reused for another name does not inherit an old link. The path is
 * the dentry's, walked once when the link is made (so a symlink or
 * /proc/self/root is recorded as the file it reached), and checked again
 * after any rename or mount change (path_epoch). Not SipHash: the inputs
 * are kernel addresses no process chooses or reads, and this runs at every
 * open; the per-boot key still keeps them from being predicted. */
static __always_inline __u64 ident_key(__u64 mnt, __u64 dentry, __u64 hash_len)
{
    return (dentry ^ sip_k0) * 0x9E3779B97F4A7C15ULL +
           (mnt ^ hash_len ^ sip_k1) * 0xC2B2AE3D27D4EB4FULL;
}

/* Puts the mount and dentry of the file fd refers to in s->id_* and the
 * dentry's name hash in *hash_len; returns 0, or -1 when there is no file.
 * typed: direct loads through bpf_rdonly_cast, no helper call (each costs a
 * call and a return through the kernel's return thunk); otherwise probe
 * reads. The pointers go through the scratch so that they are read back as
 * numbers (the verifier forbids arithmetic on pointers). */
static __always_inline int open_ident(struct scratch *s, struct task_struct *t, long fd,
                                      __u64 *hash_len, const bool typed)
{
    if (typed) {
        struct files_struct *files = t->files;
        if (!files)
            return -1;
        struct fdtable *fdt = files->fdt;
        if (!fdt || (__u64)fd >= fdt->max_fds)
            return -1;
        struct file **arr = fdt->fd;
        struct kiocb *slot = bpf_rdonly_cast(&arr[fd], bpf_core_type_id_kernel(struct kiocb));
        struct file *f = slot->ki_filp; /* a kiocb starts with a file pointer */
        if (!f)
            return -1;
        struct dentry *d = f->f_path.dentry;
        if (!d)
            return -1;
        s->id_mnt = (__u64)f->f_path.mnt;
        s->id_dentry = (__u64)d;
        *hash_len = d->d_name.hash_len;
        return 0;
    }
    struct file *f = file_of_fd(fd);
    if (!f)
        return -1;
    struct dentry *d = BPF_CORE_READ(f, f_path.dentry);
    if (!d)
        return -1;
    s->id_mnt = (__u64)BPF_CORE_READ(f, f_path.mnt);
    s->id_dentry = (__u64)d;
    *hash_len = BPF_CORE_READ(d, d_name.hash_len);
    return 0;
}

/* An open that missed the hot path: no link yet for (task, identity), or
 * one made before the last rename or mount change. Walks the file's path
 * and then creates the link, confirms it (same path: the epoch is updated
 * and the open counted), or, when the path changed under it, marks it moved
 * and records this open by path. upath: the caller's path string, used when
 * the dentry has no path of its own (a pipe or socket opened through
 * /proc/PID/fd). */
__noinline int mz_open_slow(struct scratch *s, __u64 task_key, __u64 obj_key, __u32 actions,
                            __u64 upath)
{
    if (!s)
        return 0;
    __u32 epoch = *(volatile __u32 *)&path_epoch;
    volatile struct scratch *vs = s;
    if (mz_walk_path(vs->id_dentry, vs->id_mnt, s, 0) < 0)
        return 0;
    if (s->file.len <= 1) {
        long n = bpf_probe_read_user_str(s->rel, MZ_BPF_PATH_MAX, (const char *)upath);
        if (n > 2 && s->rel[0] == '/') {
            bpf_probe_read_kernel(s->file.path, MZ_BPF_PATH_MAX, s->rel);
            s->file.len = (n - 1) & PATH_MASK;
            s->file.flags = n == MZ_BPF_PATH_MAX ? MZ_REC_TRUNCATED : 0;
            s->file.mnt_ns = task_mnt_ns();
        }
    }
    __u64 pkey = mz_hash_path(&s->file);
    struct mz_link_key k;
    k.task_key = task_key;
    k.obj_key = obj_key;
    __u32 gen = gen_now();

    struct mz_link_val *l = bpf_map_lookup_elem(&links, &k);
    if (l) {
        if (l->epoch == MZ_EPOCH_MOVED || l->file_key != pkey) {
            l->epoch = MZ_EPOCH_MOVED;
            return mz_record_link(s, actions, 0);
        }
        l->epoch = epoch;
        REC_UPDATE(MZ_MAP_LINKS, l, actions, REC_LAST_BOTH);
        return 0;
    }

    __u64 ino = s->file_ino;
    __u32 dev = s->file_dev;
    int admit = mz_admit(s, actions, 0);
    int fr = file_store_admit(pkey, &s->file, admit);
    mz_task_ensure(task_key, s);
    if (fr == 2)
        return link_aggregate(s, task_key, actions);
    return link_insert(s, &k, actions, 0, pkey, epoch, gen, fr == 1, ino, dev, admit);
}

/* Every successful open: the in-place update of the (task, identity) link
 * is the hot path; anything else goes to mz_open_slow. */
static __always_inline int open_common(struct task_struct *t, long ret, __u64 upath, __u64 flags,
                                       const bool typed)
{
    struct scratch *s = scratch_get(0);
    if (!s)
        return 0;
    __u64 hash_len = 0;
    if (open_ident(s, t, ret, &hash_len, typed) < 0)
        return 0;
    volatile struct scratch *vs = s;
    struct mz_link_key k;
    k.obj_key = ident_key(vs->id_mnt, vs->id_dentry, hash_len);
    k.task_key = task_key_cached(s, t);
    __u32 actions = open_actions(flags);
    struct mz_link_val *l = bpf_map_lookup_elem(&links, &k);
    if (!l || l->epoch != *(volatile __u32 *)&path_epoch)
        return mz_open_slow(s, k.task_key, k.obj_key, actions, upath);
    REC_UPDATE(MZ_MAP_LINKS, l, actions, REC_LAST_FAST);
    return 0;
}

/* symlink(target, linkpath): the target is any string, kept as written. */
static __always_inline int symlink_common(const char *utarget, const char *ulink, int dfd)
{
    struct scratch *s = scratch_get(0);
    if (!s)
        return 0;
    if (mz_read_user_path((__u64)ulink, dfd, s, 1) < 0)
        return 0;
    long n = bpf_probe_read_user_str(s->file.path, MZ_BPF_PATH_MAX, utarget);
    if (n <= 1)
        return 0;
    s->file.len = n - 1;
    s->file.flags = n == MZ_BPF_PATH_MAX ? MZ_REC_TRUNCATED : 0;
    s->file.mnt_ns = 0; /* text, not looked up in any namespace */
    s->file_ino = 0;    /* the target is a string */
    s->file_dev = 0;
    return mz_record_link(s, MZ_FA_SYMLINK, 1);
}

/* memfd_create(name): recorded as "memfd:" + name, as /proc/PID/fd shows it. */
static __always_inline int memfd_common(const char *uname)
{
    struct scratch *s = scratch_get(0);
    if (!s)
        return 0;
    s->file.path[0] = 'm';
    s->file.path[1] = 'e';
    s->file.path[2] = 'm';
    s->file.path[3] = 'f';
    s->file.path[4] = 'd';
    s->file.path[5] = ':';
    long n = bpf_probe_read_user_str(&s->file.path[6], MZ_BPF_PATH_MAX - 6, uname);
    if (n <= 0)
        return 0;
    s->file.len = 6 + n - 1;
    s->file.flags = 0;
    s->file.mnt_ns = 0;
    s->file_ino = 0;
    s->file_dev = 0;
    return mz_record_link(s, MZ_FA_MEMFD | MZ_FA_CREATE, 0);
}

/* Records a file action on an open file descriptor. */
static __always_inline int fd_action(int fd, __u32 actions)
{
    struct scratch *s = scratch_get(0);
    if (!s)
        return 0;
    if (path_of_fd(fd, s, 0) < 0)
        return 0;
    return mz_record_link(s, actions, 0);
}

/* An action on one path p1 (relative to dfd), or two (p2 relative to dfd2:
 * rename, link), that returned ret. A rename may change the paths of open
 * files below it: it bumps the path epoch. */
static __always_inline int path_action(long ret, __u32 act, __u64 p1, int dfd, __u64 p2, int dfd2)
{
    if (ret != 0)
        return 0;
    if (act == MZ_FA_RENAME)
        __sync_fetch_and_add(&path_epoch, 1);
    struct scratch *s = scratch_get(0);
    if (!s)
        return 0;
    if (p2 && mz_read_user_path(p2, dfd2, s, 1) < 0)
        return 0;
    if (mz_read_user_path(p1, dfd, s, 0) < 0)
        return 0;
    return mz_record_link(s, act, p2 ? 1 : 0);
}

/* mount, umount2, move_mount, pivot_root: paths below a moved or new mount
 * point change. */
static __always_inline int mount_changed(long ret)
{
    if (ret == 0)
        __sync_fetch_and_add(&path_epoch, 1);
    return 0;
}

#endif
