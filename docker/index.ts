/** The door to docker/: the image's names, and the build that makes it. */
export { type BuildImageOptions, buildImage, ImageBuildError } from './build-image.ts';
export { MQFED_IMAGE, MQFED_LOCAL_BASE_REPO, MQFED_OFFICIAL_BASE } from './image-name.ts';
