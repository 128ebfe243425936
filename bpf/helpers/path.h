/* SPDX-License-Identifier: GPL-2.0 */
/*
 * path.h - paths: dentry walks up to the root (crossing mounts), files of
 * file descriptors, user paths resolved against the cwd or a dirfd, and the
 * file records (files, files_long) they are stored in.
 */
#ifndef MIZAN_BPF_HELPERS_PATH_H
#define MIZAN_BPF_HELPERS_PATH_H

/* The walk of mz_walk_path with direct loads: every field read is a load,
 * the only helper call per component is the copy of its name (a probe read
 * costs a call and a return through the kernel's return thunk: five of them
 * per component made the walk most of an exec's or a new open's cost).
 * Returns the truncation flag. */
static __always_inline __u32 walk_path_direct(__u64 dentry_p, __u64 vfsmnt_p, struct scratch *s,
                                              __u32 which)
{
    struct dentry *dentry =
        bpf_rdonly_cast((void *)dentry_p, bpf_core_type_id_kernel(struct dentry));
    struct mount *mnt =
        bpf_rdonly_cast((void *)(vfsmnt_p - bpf_core_field_offset(struct mount, mnt)),
                        bpf_core_type_id_kernel(struct mount));
    char *walk = s->walk;
    if (!which) {
        struct inode *ino = dentry->d_inode;
        s->file_ino = ino ? ino->i_ino : 0;
        s->file_dev = ino ? ino->i_sb->s_dev : 0;
    }
    for (int i = 0; i < WALK_DEPTH; i++) {
        struct dentry *mnt_root = mnt->mnt.mnt_root;
        struct dentry *parent = dentry->d_parent;
        if (dentry == mnt_root) {
            struct mount *mp = mnt->mnt_parent;
            if (mp == mnt || !mp) {
                struct mnt_namespace *ns = mnt->mnt_ns;
                __u32 inum = ns ? ns->ns.inum : 0;
                if (inum != init_mnt_ns && init_mnt_ns)
                    s->walk_ns = inum;
                break;
            }
            dentry = mnt->mnt_mountpoint;
            mnt = mp;
            continue;
        }
        if (dentry == parent || !parent)
            break;
        __u32 len = dentry->d_name.len;
        const unsigned char *name = dentry->d_name.name;
        __u32 pos = s->pos;
        len &= 255;
        if (len + 1 > pos)
            return 1;
        pos -= len + 1;
        s->pos = pos;
        walk[pos & PATH_MASK] = '/';
        bpf_probe_read_kernel(&walk[(pos + 1) & PATH_MASK], len, name);
        dentry = parent;
    }
    return 0;
}

/* Writes the absolute path of (dentry, vfsmnt) into s->file (which == 0) or
 * s->file2, walking dentries and crossing mounts up to the root mount of the
 * mount namespace the file's mount is in (not the task's root: a chroot is
 * walked through). When that namespace is not the initial one, the path is
 * relative to its root and the record says which (mz_file_val.mnt_ns).
 * Returns 0, or -1 when nothing could be read. */
__noinline int mz_walk_path(__u64 dentry_p, __u64 vfsmnt_p, struct scratch *s, __u32 which)
{
    struct dentry *dentry = (struct dentry *)dentry_p;
    struct mount *mnt = container_of((struct vfsmount *)vfsmnt_p, struct mount, mnt);
    __u32 trunc = 0;
    int i;

    if (!s || !dentry_p || !vfsmnt_p)
        return -1;
    struct mz_file_val *out = which ? &s->file2 : &s->file;
    char *walk = s->walk;
    s->pos = MZ_BPF_PATH_MAX;
    s->walk_ns = 0;
    if (direct_loads && bpf_ksym_exists(bpf_rdonly_cast)) {
        trunc = walk_path_direct(dentry_p, vfsmnt_p, s, which);
        goto copy;
    }
    if (!which) {
        struct inode *ino = BPF_CORE_READ(dentry, d_inode);
        s->file_ino = ino ? BPF_CORE_READ(ino, i_ino) : 0;
        s->file_dev = ino ? BPF_CORE_READ(ino, i_sb, s_dev) : 0;
    }
    for (i = 0; i < WALK_DEPTH; i++) {
        struct dentry *mnt_root = BPF_CORE_READ(mnt, mnt.mnt_root);
        struct dentry *parent = BPF_CORE_READ(dentry, d_parent);
        if (dentry == mnt_root) {
            struct mount *mp = BPF_CORE_READ(mnt, mnt_parent);
            if (mp == mnt || !mp) {
                __u32 inum = BPF_CORE_READ(mnt, mnt_ns, ns.inum);
                if (inum != init_mnt_ns && init_mnt_ns)
                    s->walk_ns = inum;
                break;
            }
            dentry = BPF_CORE_READ(mnt, mnt_mountpoint);
            mnt = mp;
            continue;
        }
        if (dentry == parent || !parent)
            break;
        __u32 len = BPF_CORE_READ(dentry, d_name.len);
        const unsigned char *name = BPF_CORE_READ(dentry, d_name.name);
        __u32 pos = s->pos;
        len &= 255;
        if (len + 1 > pos) {
            trunc = 1;
            break;
        }
        pos -= len + 1;
        s->pos = pos;
        walk[pos & PATH_MASK] = '/';
        bpf_probe_read_kernel(&walk[(pos + 1) & PATH_MASK], len, name);
        dentry = parent;
    }
copy:;
    __u32 pos = s->pos;
    if (pos >= MZ_BPF_PATH_MAX) {
        pos = MZ_BPF_PATH_MAX - 1;
        walk[pos & PATH_MASK] = '/';
    }
    __u32 n = (MZ_BPF_PATH_MAX - pos) & PATH_MASK;
    bpf_probe_read_kernel(out->path, n, &walk[pos & PATH_MASK]);
    out->path[n & PATH_MASK] = 0;
    out->len = n;
    out->flags = trunc ? MZ_REC_TRUNCATED : 0;
    out->mnt_ns = s->walk_ns;
    if (trunc)
        count_truncated();
    return 0;
}

static __always_inline struct file *file_of_fd(__u32 fd)
{
    struct task_struct *t = bpf_get_current_task_btf();
    struct files_struct *files = BPF_CORE_READ(t, files);
    struct fdtable *fdt = BPF_CORE_READ(files, fdt);
    __u32 max = BPF_CORE_READ(fdt, max_fds);
    struct file **arr = BPF_CORE_READ(fdt, fd);
    struct file *f = NULL;
    if (fd >= max)
        return NULL;
    bpf_probe_read_kernel(&f, sizeof(f), &arr[fd]);
    return f;
}

static __always_inline int path_of_file(struct file *f, struct scratch *s, __u32 which)
{
    if (!f)
        return -1;
    struct dentry *d = BPF_CORE_READ(f, f_path.dentry);
    struct vfsmount *m = BPF_CORE_READ(f, f_path.mnt);
    return mz_walk_path((__u64)d, (__u64)m, s, which);
}

static __always_inline int path_of_fd(int fd, struct scratch *s, __u32 which)
{
    if (fd < 0)
        return -1;
    return path_of_file(file_of_fd(fd), s, which);
}

/* The current task's mount namespace when it is not the initial one, else
 * 0: where an absolute path it names is looked up (a chroot aside). */
static __always_inline __u32 task_mnt_ns(void)
{
    struct task_struct *t = bpf_get_current_task_btf();
    __u32 inum = BPF_CORE_READ(t, nsproxy, mnt_ns, ns.inum);
    return init_mnt_ns && inum != init_mnt_ns ? inum : 0;
}

static __always_inline int read_user_path(__u64 upath, int dfd, struct scratch *s, __u32 which)
{
    struct mz_file_val *out = which ? &s->file2 : &s->file;
    long n = bpf_probe_read_user_str(out->path, MZ_BPF_PATH_MAX, (const char *)upath);
    if (n <= 0) {
        /* every caller records a link on this path: that link is lost */
        count_read_error();
        COUNT_MAP(lost_read, MZ_MAP_LINKS);
        return -1;
    }
    out->len = n - 1;
    out->flags = 0;
    out->mnt_ns = task_mnt_ns();
    if (n == MZ_BPF_PATH_MAX) {
        out->flags = MZ_REC_TRUNCATED;
        count_truncated();
    }
    if (out->path[0] == '/')
        return 0;

    /* Relative: keep it in rel, walk the directory into out, append. */
    __u32 rl = out->len & PATH_MASK;
    bpf_probe_read_kernel(s->rel, MZ_BPF_PATH_MAX, out->path);
    int r;
    if (dfd == -100 /* AT_FDCWD */) {
        struct task_struct *t = bpf_get_current_task_btf();
        struct dentry *d = BPF_CORE_READ(t, fs, pwd.dentry);
        struct vfsmount *m = BPF_CORE_READ(t, fs, pwd.mnt);
        r = mz_walk_path((__u64)d, (__u64)m, s, which);
    } else {
        r = path_of_fd(dfd, s, which);
    }
    if (r < 0) {
        /* Keep the relative path as read. */
        bpf_probe_read_kernel(out->path, MZ_BPF_PATH_MAX, s->rel);
        out->len = rl;
        return 0;
    }
    if (s->rel[0] == '.' && s->rel[1] == 0)
        return 0;
    __u32 dl = out->len & PATH_MASK;
    if (dl > 1) {
        out->path[dl & PATH_MASK] = '/';
        dl++;
    }
    if (dl >= MZ_BPF_PATH_MAX - 1) {
        out->flags |= MZ_REC_TRUNCATED;
        count_truncated();
        return 0;
    }
    if (dl + rl >= MZ_BPF_PATH_MAX) {
        rl = MZ_BPF_PATH_MAX - 1 - dl;
        out->flags |= MZ_REC_TRUNCATED;
        count_truncated();
    }
    rl &= PATH_MASK;
    dl &= PATH_MASK;
    if (rl)
        bpf_probe_read_kernel(&out->path[dl], rl, s->rel);
    out->len = dl + rl;
    out->path[(dl + rl) & PATH_MASK] = 0;
    return 0;
}

/* Reads the user path upath into s->file (which == 0) or s->file2. A
 * relative path is resolved against dfd (or the working directory for
 * AT_FDCWD) by walking that directory and appending the relative part.
 * A path named by a string has no known identity: s->file_ino/dev are 0
 * after it (the directory walked for a relative path is not the file).
 * Returns 0 or -1. */
__noinline int mz_read_user_path(__u64 upath, int dfd, struct scratch *s, __u32 which)
{
    if (!s)
        return -1;
    int r = read_user_path(upath, dfd, s, which);
    if (!which) {
        s->file_ino = 0;
        s->file_dev = 0;
    }
    return r;
}

static __always_inline __u64 file_key_of(struct mz_file_val *f)
{
    return mz_hash_path(f);
}

/* Stores the path record f under key (files or files_long by length), or
 * stamps the generation of the one there: a record that refers to it was
 * just made, so the collector keeps it (see mz_file_val). Returns 0 (in the
 * map), 1 (handed to the overflow ring: the record referring to it must go
 * there too, so that the collector has the path when it delivers it), -1
 * (lost, counted), 2 (the map was full and admit 0: not kept, counted
 * aggregated; the record referring to it is aggregated too, see
 * helpers/interest.h). */
static __always_inline int file_store_body(__u64 key, struct mz_file_val *f, int admit)
{
    __u32 g = gen_now();
    if (f->len < MZ_BPF_PATH_SMALL) {
        struct mz_file_small *e = bpf_map_lookup_elem(&files, &key);
        if (e) {
            if (e->gen != g)
                e->gen = g;
            return 0;
        }
        f->gen = g;
        int r = store_new_admit(MZ_MAP_FILES, &files, &key, sizeof(key), f,
                                sizeof(struct mz_file_small), admit);
        if (r == 0)
            count_created(MZ_MAP_FILES, g);
        return r == -17 ? 0 : r;
    }
    struct mz_file_val *e = bpf_map_lookup_elem(&files_long, &key);
    if (e) {
        if (e->gen != g)
            e->gen = g;
        return 0;
    }
    f->gen = g;
    int r =
        store_new_admit(MZ_MAP_FILES_LONG, &files_long, &key, sizeof(key), f, sizeof(*f), admit);
    if (r == 0)
        count_created(MZ_MAP_FILES_LONG, g);
    return r == -17 ? 0 : r;
}

/* A global function: verified once per program, not once per call site
 * (an exec stores three paths). */
__noinline int file_store_admit(__u64 key, struct mz_file_val *f, int admit)
{
    if (!f)
        return -1;
    return file_store_body(key, f, admit);
}

/* file_store_admit of a path that may always go to the ring (an exe, a cwd:
 * every record of the task needs them). */
static __always_inline int file_store(__u64 key, struct mz_file_val *f)
{
    return file_store_admit(key, f, 1);
}

#endif
