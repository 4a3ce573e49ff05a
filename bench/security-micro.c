/*
 * Micro-benchmark for bench/security.ts (part C), compiled and run by it:
 *   security-micro <seccomp.bpf> <devices.bpf> <v1 devices dir> <cgroup2 dir>
 * times, 31 rounds each: installing the seccomp filter; joining a v1 devices cgroup (mkdir,
 * deny all, cgroup.procs write); the cgroup2 way (mkdir, load + attach the device program,
 * clone3 CLONE_INTO_CGROUP), each 100 ms after the previous operation; a plain fork for reference. Makes and removes m<N> dirs under the
 * two given cgroup dirs.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <unistd.h>
#include <time.h>
#include <errno.h>
#include <signal.h>
#include <sys/wait.h>
#include <sys/stat.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <linux/seccomp.h>
#include <linux/filter.h>
#include <linux/bpf.h>
#include <linux/sched.h>
static double now(void){struct timespec t;clock_gettime(CLOCK_MONOTONIC,&t);return t.tv_sec*1e3+t.tv_nsec/1e6;}
static int cmp(const void*a,const void*b){double x=*(double*)a,y=*(double*)b;return x<y?-1:x>y;}
static void *readf(const char*p,size_t*n){int fd=open(p,O_RDONLY);struct stat st;fstat(fd,&st);void*b=malloc(st.st_size);ssize_t r=read(fd,b,st.st_size);*n=r>0?(size_t)r:0;close(fd);return b;}
#define N 31
static void report(const char*what,double*x){qsort(x,N,sizeof(double),cmp);printf("%-48s median %.3f ms  min %.3f  max %.3f\n",what,x[N/2],x[0],x[N-1]);}
int main(int argc,char**argv){
 if(argc<5){fprintf(stderr,"usage: security-micro seccomp.bpf devices.bpf v1dir cg2dir\n");return 2;}
 size_t sl,dl; void*sf=readf(argv[1],&sl); void*df=readf(argv[2],&dl); const char*v1=argv[3], *v2=argv[4];
 double a[N],b[N],c[N],d[N];
 for(int i=0;i<N;i++){
  /* A: install the seccomp filter (in a fresh child each time) */
  int pp[2]; if(pipe(pp)) return 1;
  pid_t p=fork(); if(!p){ prctl(PR_SET_NO_NEW_PRIVS,1,0,0,0); struct sock_fprog f={.len=sl/8,.filter=sf}; double t=now(); syscall(SYS_seccomp,SECCOMP_SET_MODE_FILTER,0,&f); double x=now()-t;
   if(write(pp[1],&x,8)!=8) _exit(1);
   _exit(0);}
  if(read(pp[0],&a[i],8)!=8) a[i]=-1;
  waitpid(p,0,0); close(pp[0]); close(pp[1]);
  /* B: v1 devices cgroup: mkdir + deny/allow + write pid + rmdir */
  char dir[256]; snprintf(dir,sizeof dir,"%s/m%d",v1,i);
  pid_t s=fork(); if(!s){pause();_exit(0);}
  /* 100 ms apart, as separate container starts are: a cgroup.procs write shortly after another
   * one shares its RCU grace period, which a loop of back-to-back writes would measure instead */
  usleep(100000);
  double t=now(); mkdir(dir,0755); char f[300]; snprintf(f,sizeof f,"%s/devices.deny",dir); int fd=open(f,O_WRONLY); if(write(fd,"a",1)!=1) perror("devices.deny"); close(fd);
  snprintf(f,sizeof f,"%s/cgroup.procs",dir); fd=open(f,O_WRONLY); char pb[16]; int n=snprintf(pb,16,"%d",s); if(write(fd,pb,n)!=n) perror("cgroup.procs"); close(fd); b[i]=now()-t;
  kill(s,9); waitpid(s,0,0); for(int k=0;k<100&&rmdir(dir);k++) usleep(1000);
  /* C: cgroup2: mkdir + load + attach + clone3 INTO_CGROUP */
  snprintf(dir,sizeof dir,"%s/m%d",v2,i);
  usleep(100000);
  t=now(); mkdir(dir,0755); int cg=open(dir,O_RDONLY|O_DIRECTORY);
  union bpf_attr at; memset(&at,0,sizeof at); at.prog_type=BPF_PROG_TYPE_CGROUP_DEVICE; at.insns=(long)df; at.insn_cnt=dl/8; at.license=(long)"GPL";
  int pfd=syscall(SYS_bpf,BPF_PROG_LOAD,&at,sizeof at); memset(&at,0,sizeof at); at.target_fd=cg; at.attach_bpf_fd=pfd; at.attach_type=BPF_CGROUP_DEVICE;
  if(syscall(SYS_bpf,BPF_PROG_ATTACH,&at,sizeof at)) perror("attach");
  close(pfd);
  struct clone_args ca; memset(&ca,0,sizeof ca); ca.flags=CLONE_INTO_CGROUP; ca.cgroup=cg; ca.exit_signal=SIGCHLD;
  pid_t k2=syscall(SYS_clone3,&ca,sizeof ca); if(!k2){pause();_exit(0);} c[i]=now()-t;
  kill(k2,9); waitpid(k2,0,0); close(cg); for(int k=0;k<100&&rmdir(dir);k++) usleep(1000);
  /* D: plain fork for reference */
  t=now(); pid_t k3=fork(); if(!k3){pause();_exit(0);} d[i]=now()-t; kill(k3,9); waitpid(k3,0,0);
 }
 report("seccomp(SET_MODE_FILTER), 913 insns",a);
 report("v1 devices: mkdir+deny+cgroup.procs write",b);
 report("cgroup2: mkdir+prog load+attach+clone3 into",c);
 report("plain fork (reference)",d);
}
