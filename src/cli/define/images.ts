/** Image commands: image pull|import|load|ls|history|tag|rm|inspect|prune, the shortcuts pull, images, history, tag, rmi, import, load; login, logout. */
import type { Command } from 'commander';
import { pruneFlags } from './container-ops.js';
import { collect, defaultTrueFlag, eachObject, formatFlag, inspectCommand, lazy, quietNoTrunc } from './shared.js';

function importFlags(cmd: Command): Command {
  return cmd
    .description('Import a root filesystem, docker-save or OCI-layout tarball as an image')
    .usage('[options] FILE|- [REPOSITORY[:TAG]]')
    .option('-t, --tag <name[:tag]>', 'Name (and tag) for the image')
    .option(
      '-c, --change <instruction>',
      "Apply a Dockerfile instruction to a root filesystem tarball's image: CMD, ENTRYPOINT, ENV, EXPOSE, HEALTHCHECK, LABEL, STOPSIGNAL, USER, VOLUME or WORKDIR (repeatable)",
      collect,
    )
    .option('-m, --message <string>', "Set a root filesystem tarball's image comment")
    .argument('<file>', 'tarball to import, or - to read it from stdin')
    .argument('[reference]', 'name (and tag) for the image, like --tag')
    .action(lazy('image-import'));
}

function pullFlags(cmd: Command): Command {
  return cmd
    .description('Download an image from a registry')
    .usage('[options] NAME[:TAG|@DIGEST]')
    .option('-q, --quiet', 'Suppress verbose output')
    .option('--platform <os/arch[/variant]>', "Platform to choose from a multi-platform image (default: the daemon's)")
    .argument('<reference>', 'image to pull, e.g. busybox, localhost:5000/app:1, app@sha256:…')
    .action(lazy('pull'));
}

function historyFlags(cmd: Command): Command {
  formatFlag(quietNoTrunc(cmd.description('Show the history of an image'), 'Only show image IDs'), '{{.CreatedBy}}');
  defaultTrueFlag(cmd, '--human', 'human', 'Print sizes and dates in human readable format');
  return cmd.usage('[options] IMAGE').argument('<image>', 'image').action(lazy('image-history'));
}

function tagFlags(cmd: Command): Command {
  return cmd
    .description('Create a tag TARGET_IMAGE that refers to SOURCE_IMAGE')
    .usage('SOURCE_IMAGE[:TAG] TARGET_IMAGE[:TAG]')
    .argument('<source>', 'image to tag (name[:tag] or id)')
    .argument('<target>', 'new name[:tag] (no tag: latest)')
    .action(lazy('image-tag'));
}

function loadFlags(cmd: Command): Command {
  return cmd
    .description('Load images from a docker save or OCI-layout tar archive (from a file or stdin)')
    .usage('[options]')
    .option('-i, --input <file>', 'Read from a tar archive file, instead of stdin')
    .option('-q, --quiet', 'Suppress the load output')
    .action(lazy('image-load'));
}

function lsFlags(cmd: Command): Command {
  return formatFlag(quietNoTrunc(cmd.description('List images'), 'Only show image IDs'), '{{.Repository}}').action(
    lazy('image-ls'),
  );
}

function rmFlags(cmd: Command): Command {
  return eachObject(
    cmd.description('Remove one or more images').option('-f, --force', 'Force removal of the image'),
    'IMAGE',
    'images',
    'images to remove',
  ).action(lazy('image-rm'));
}

export function defineImageCommands(program: Command): void {
  const image = program.command('image').helpCommand(false).description('Manage images');
  importFlags(image.command('import'));
  pullFlags(image.command('pull'));
  lsFlags(image.command('ls').alias('list'));
  historyFlags(image.command('history'));
  tagFlags(image.command('tag'));
  loadFlags(image.command('load'));
  rmFlags(image.command('rm').alias('remove'));
  inspectCommand(image, 'IMAGE', 'images', 'image-inspect');

  pruneFlags(image.command('prune'), 'unused images (dangling ones; with -a every image no container uses)', 'image-prune', (c) =>
    c.option('-a, --all', 'Remove all unused images, not just dangling ones'),
  );

  pullFlags(program.command('pull')).description('Download an image from a registry (same as: image pull)');
  lsFlags(program.command('images')).description('List images (same as: image ls)');
  historyFlags(program.command('history')).description('Show the history of an image (same as: image history)');
  tagFlags(program.command('tag')).description('Create a tag TARGET_IMAGE that refers to SOURCE_IMAGE (same as: image tag)');
  loadFlags(program.command('load')).description('Load images from a tar archive (same as: image load)');
  rmFlags(program.command('rmi')).description('Remove one or more images (same as: image rm)');
  importFlags(program.command('import')).description('Import a tarball as an image (same as: image import)');
}

export function defineRegistryCommands(program: Command): void {
  program
    .command('login')
    .description('Log in to a registry (the credentials are checked by the daemon and stored in ~/.tsnet/config.json)')
    .usage('[options] [SERVER]')
    .option('-u, --username <username>', 'Username')
    .option('-p, --password <password>', 'Password (insecure: prefer --password-stdin)')
    .option('--password-stdin', 'Take the password from stdin')
    .argument('[server]', 'registry, e.g. localhost:5000 (default: Docker Hub)')
    .action(lazy('login'));
  program
    .command('logout')
    .description('Log out from a registry (forget its stored credentials)')
    .usage('[SERVER]')
    .argument('[server]', 'registry (default: Docker Hub)')
    .action(lazy('logout'));
}
