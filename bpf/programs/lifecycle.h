/* SPDX-License-Identifier: GPL-2.0 */
/*
 * lifecycle.h - process lifecycle: fork, exec, exit.
 */
#ifndef MIZAN_BPF_PROGRAMS_LIFECYCLE_H
#define MIZAN_BPF_PROGRAMS_LIFECYCLE_H

SEC("raw_tp/sched_process_fork")
int BPF_PROG(mz_fork, struct task_struct *parent, struct task_struct *child)
{
    if (BPF_CORE_READ(child, pid) != BPF_CORE_READ(child, tgid))
        return 0; /* a thread */
    struct scratch *s = scratch_get(0);
    if (!s)
        return 0;
    __u32 gen = gen_now();
    struct mz_task_val *v = &s->task;
    task_fill(child, v, gen);
    /* The child runs the parent's image until it execs. */
    struct task_struct *pl = BPF_CORE_READ(parent, group_leader);
    __u64 pkey = task_key_of(pl);
    struct mz_task_val *pv = bpf_map_lookup_elem(&tasks, &pkey);
    if (pv) {
        v->exe_key = pv->exe_key;
        v->args_key = pv->args_key;
    }
    __u64 key = task_key_of(child);
    task_insert(key, v);
    return 0;
}

SEC("raw_tp/sched_process_exec")
int BPF_PROG(mz_exec, struct task_struct *p, pid_t old_pid, struct linux_binprm *bprm)
{
    struct scratch *s = scratch_get(0);
    if (!s)
        return 0;
    __u32 gen = gen_now();
    __u64 now = bpf_ktime_get_boot_ns();
    struct task_struct *t = BPF_CORE_READ(p, group_leader);
    __u64 key = task_key_of(t);

    /* The executable: the name it was run by when absolute, else the file. */
    const char *fname = BPF_CORE_READ(bprm, filename);
    long n = bpf_probe_read_kernel_str(s->file.path, MZ_BPF_PATH_MAX, fname);
    if (n > 1 && s->file.path[0] == '/') {
        s->file.len = n - 1;
        s->file.flags = 0;
        if (n == MZ_BPF_PATH_MAX) {
            s->file.flags = MZ_REC_TRUNCATED;
            count_truncated();
        }
        struct inode *ino = BPF_CORE_READ(bprm, file, f_inode);
        s->file_ino = ino ? BPF_CORE_READ(ino, i_ino) : 0;
        s->file_dev = ino ? BPF_CORE_READ(ino, i_sb, s_dev) : 0;
    } else if (path_of_file(BPF_CORE_READ(bprm, file), s, 0) < 0) {
        s->file.len = 0;
    }
    /* ring: a string record went to the overflow ring, so the exec record
     * goes there too, behind it (see file_store). */
    bool ring = false;
    __u64 exe_key = 0;
    if (s->file.len) {
        exe_key = file_key_of(&s->file);
        ring = file_store(exe_key, &s->file) == 1;
    }
    __u64 args_key = mz_args_store(s);
    if (s->args_ring)
        ring = true;

    /* The working directory, for the command line's relative paths. */
    __u64 cwd_key = 0;
    struct dentry *pwd = BPF_CORE_READ(t, fs, pwd.dentry);
    struct vfsmount *pwdmnt = BPF_CORE_READ(t, fs, pwd.mnt);
    if (mz_walk_path((__u64)pwd, (__u64)pwdmnt, s, 1) == 0) {
        cwd_key = file_key_of(&s->file2);
        if (file_store(cwd_key, &s->file2) == 1)
            ring = true;
    }

    /* The image this exec replaced keeps its record, closed: what it did is
     * still charged to it (an exec must not rewrite history). The new image
     * gets a record of its own, with the parent the process had. */
    __u64 exec_id = BPF_CORE_READ(t, self_exec_id);
    __u64 old_key =
        image_key(BPF_CORE_READ(t, tgid), BPF_CORE_READ(t, start_boottime), exec_id - 1);
    __u64 parent_key = 0;
    struct mz_task_val *ov = bpf_map_lookup_elem(&tasks, &old_key);
    if (ov) {
        parent_key = ov->parent_key;
        ov->exit_ns = now;
        ov->flags |= MZ_REC_REPLACED;
        ov->gen = gen_now();
    }
    struct mz_task_val *tv = bpf_map_lookup_elem(&tasks, &key);
    if (tv) {
        /* made lazily between the exec and this tracepoint */
        tv->exe_key = exe_key;
        tv->args_key = args_key;
        tv->exec_ns = now;
        tv->flags |= MZ_REC_EXECED;
        task_fill_creds(t, tv);
        BPF_CORE_READ_STR_INTO(&tv->comm, t, comm);
        tv->gen = gen_now();
        tv = NULL;
    } else {
        struct mz_task_val *v = &s->task;
        task_fill(t, v, gen);
        if (parent_key)
            v->parent_key = parent_key;
        v->exe_key = exe_key;
        v->args_key = args_key;
        v->exec_ns = now;
        v->flags = MZ_REC_EXECED;
        task_insert(key, v);
    }

    /* One exec record per exec. */
    struct mz_exec_key ek = {.task_key = key, .exec_ns = now};
    struct mz_exec_val *e = &s->exec;
    struct task_struct *parent = BPF_CORE_READ(t, real_parent, group_leader);
    e->parent_key = parent_key ? parent_key : parent ? task_key_of(parent) : 0;
    e->start_ns = BPF_CORE_READ(t, start_boottime);
    e->cgroup_id = task_cgroup(t);
    e->exe_key = exe_key;
    e->args_key = args_key;
    e->cwd_key = cwd_key;
    e->tgid = BPF_CORE_READ(t, tgid);
    e->ppid = BPF_CORE_READ(t, real_parent, tgid);
    e->uid = BPF_CORE_READ(t, real_cred, uid.val);
    e->gid = BPF_CORE_READ(t, real_cred, gid.val);
    e->euid = BPF_CORE_READ(t, cred, euid.val);
    e->gen = gen;
    e->created_gen = gen;
    e->flags = s->file.flags & MZ_REC_TRUNCATED;
    BPF_CORE_READ_STR_INTO(&e->comm, t, comm);
    if (ring)
        overflow_out(MZ_MAP_EXECS, &ek, sizeof(ek), e, sizeof(*e));
    else if (store_new(MZ_MAP_EXECS, &execs, &ek, sizeof(ek), e, sizeof(*e)) == 0)
        CREATED(MZ_MAP_EXECS, &execs, &ek, struct mz_exec_val, gen);

    /* The exec is also a file action on the executable. */
    if (exe_key)
        mz_record_link(s, MZ_FA_EXECVE, 0);
    return 0;
}

SEC("raw_tp/sched_process_exit")
int BPF_PROG(mz_exit, struct task_struct *p)
{
    if (BPF_CORE_READ(p, pid) != BPF_CORE_READ(p, tgid))
        return 0;
    __u64 key = task_key_of(p);
    struct mz_task_val *tv = bpf_map_lookup_elem(&tasks, &key);
    if (tv) {
        tv->exit_ns = bpf_ktime_get_boot_ns();
        tv->flags |= MZ_REC_EXITED;
        tv->gen = gen_now();
    }
    return 0;
}

#endif
